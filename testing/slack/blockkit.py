"""Block Kit limits the emulator checks, as Slack reports them (``invalid_blocks`` / ``invalid_arguments``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Block Kit limits (https://docs.slack.dev/reference/block-kit): surface -> max blocks.
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}


def _text_problems(obj: Any, pointer: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"[ERROR] must provide an object [json-pointer:{pointer}]"]
    problems = []
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        problems.append(f"[ERROR] must be one of {list(allowed)} [json-pointer:{pointer}/type]")
    if len(obj["text"]) == 0:
        problems.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]")
    if len(obj["text"]) > max_len:
        problems.append(f"[ERROR] must be less than {max_len + 1} characters [json-pointer:{pointer}/text]")
    return problems


def _id_problems(value: Any, seen: set[str], pointer: str, duplicate: str) -> list[str]:
    """Slack's checks of a ``block_id`` or ``action_id``: 1..255 characters, unique among ``seen``."""
    if value is None:
        return []
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        return [f"[ERROR] must be 1..255 characters [json-pointer:{pointer}]"]
    if value in seen:
        return [f"[ERROR] {duplicate} [json-pointer:{pointer}]"]
    seen.add(value)
    return []


def _element_problems(element: Any, pointer: str, action_ids: set[str]) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"[ERROR] must provide an object with a type [json-pointer:{pointer}]"]
    problems: list[str] = []
    problems += _id_problems(
        element.get("action_id"), action_ids, f"{pointer}/action_id", "action_id already exists in this block"
    )
    if element["type"] == "button":
        problems += _text_problems(element.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
        if len(str(element.get("url", ""))) > 3000:
            problems.append(f"[ERROR] must be less than 3001 characters [json-pointer:{pointer}/url]")
        if len(str(element.get("value", ""))) > 2000:
            problems.append(f"[ERROR] must be less than 2001 characters [json-pointer:{pointer}/value]")
        if "style" in element and element["style"] not in ("primary", "danger"):
            problems.append(f"[ERROR] must be one of primary, danger [json-pointer:{pointer}/style]")
    return problems


def _slack_file_shape_problems(obj: Any, pointer: str) -> list[str]:
    # A Slack file object names its file by id or by URL, never both (docs: "Slack file object").
    if not isinstance(obj, dict):
        return [f"[ERROR] must provide an object [json-pointer:{pointer}]"]
    given = [k for k in ("id", "url") if obj.get(k)]
    if len(given) != 1 or not isinstance(obj[given[0]], str):
        return [f"[ERROR] must provide exactly one of id or url [json-pointer:{pointer}]"]
    return []


def slack_files(blocks: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every ``slack_file`` object in ``blocks`` with its JSON pointer: image blocks, image accessories
    of sections and image elements of context blocks."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(blocks, list):
        return found
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        ptr = f"/blocks/{i}"
        images: list[tuple[str, Any]] = [(ptr, block)] if block.get("type") == "image" else []
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "image":
            images.append((f"{ptr}/accessory", accessory))
        elements = block.get("elements") if block.get("type") == "context" else None
        for j, element in enumerate(elements if isinstance(elements, list) else []):
            if isinstance(element, dict) and element.get("type") == "image":
                images.append((f"{ptr}/elements/{j}", element))
        for where, image in images:
            if isinstance(image.get("slack_file"), dict):
                found.append((f"{where}/slack_file", image["slack_file"]))
    return found


def slack_file_problems(blocks: Any, images: Mapping[str, str]) -> list[str]:
    """Slack's ``invalid slack file`` for each ``slack_file`` that names no image file the app may show.

    ``images`` maps the id, ``url_private`` and ``permalink`` of each image file the app can see to its
    id. Slack reports these with ``invalid_blocks`` (even on views.*), unprefixed in ``errors``.
    """
    return [
        f"invalid slack file [json-pointer:{ptr}]"
        for ptr, ref in slack_files(blocks)
        if str(ref.get("id") or ref.get("url") or "") not in images
    ]


def block_problems(blocks: Any, surface: str = "message") -> list[str]:
    """Problems Slack would report for ``blocks`` on ``surface`` (message, modal or home).

    Checks the common Block Kit limits: block count, block_id length and uniqueness,
    section text (3000) and fields (10 x 2000), header text (150), actions (25) and
    context (10) element counts, button text (75), action_id uniqueness per block.
    """
    if not isinstance(blocks, list):
        return ["[ERROR] must provide an array [json-pointer:/blocks]"]
    problems: list[str] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        ptr = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"[ERROR] must provide an object with a type [json-pointer:{ptr}]")
            continue
        problems += _id_problems(block.get("block_id"), block_ids, f"{ptr}/block_id", "duplicate block_id")
        action_ids: set[str] = set()
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{ptr}]")
            if "text" in block:
                problems += _text_problems(block["text"], f"{ptr}/text", max_len=3000)
            fields = block.get("fields", [])
            if not isinstance(fields, list) or len(fields) > 10:
                problems.append(f"[ERROR] no more than 10 items allowed [json-pointer:{ptr}/fields]")
            else:
                for j, item in enumerate(fields):
                    problems += _text_problems(item, f"{ptr}/fields/{j}", max_len=2000)
            if "accessory" in block:
                problems += _element_problems(block["accessory"], f"{ptr}/accessory", action_ids)
        elif kind == "header":
            problems += _text_problems(block.get("text"), f"{ptr}/text", max_len=150, plain_only=True)
        elif kind in ("actions", "context"):
            elements = block.get("elements")
            most = 25 if kind == "actions" else 10
            if not isinstance(elements, list) or not 0 < len(elements) <= most:
                problems.append(f"[ERROR] must provide 1..{most} items [json-pointer:{ptr}/elements]")
            elif kind == "actions":
                for j, element in enumerate(elements):
                    problems += _element_problems(element, f"{ptr}/elements/{j}", action_ids)
        elif kind == "input":
            if surface == "message":
                problems.append(f"[ERROR] input blocks are not allowed in messages [json-pointer:{ptr}]")
            problems += _text_problems(block.get("label"), f"{ptr}/label", max_len=2000, plain_only=True)
            if "element" not in block:
                problems.append(f"[ERROR] must provide an element [json-pointer:{ptr}/element]")
            else:
                problems += _element_problems(block["element"], f"{ptr}/element", action_ids)
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                problems.append(f"[ERROR] must provide image_url [json-pointer:{ptr}/image_url]")
            if block.get("image_url") and "slack_file" in block:
                problems.append(f"[ERROR] must provide either image_url or slack_file, not both [json-pointer:{ptr}]")
            if "slack_file" in block:
                problems += _slack_file_shape_problems(block["slack_file"], f"{ptr}/slack_file")
            if not isinstance(block.get("alt_text"), str) or not 0 < len(block["alt_text"]) <= 2000:
                problems.append(f"[ERROR] must be 1..2000 characters [json-pointer:{ptr}/alt_text]")
    return problems


def view_problems(view: Any, *, surface: str) -> list[str]:
    """Problems Slack would report for a modal or home ``view`` (views.open/update/push/publish)."""
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    if view.get("type") != surface:
        return [f"[ERROR] must be '{surface}' here [json-pointer:/view/type]"]
    problems = block_problems(view.get("blocks"), surface)
    if surface == "modal":
        problems += _text_problems(view.get("title"), "/view/title", max_len=24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                problems += _text_problems(view[key], f"/view/{key}", max_len=24, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            problems.append("[ERROR] submit is required when an input block is present [json-pointer:/view]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
    return problems
