"""files.getUploadURLExternal and files.completeUploadExternal (what files_upload_v2 calls), files.delete."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from testing.slack.records import SlackError, Upload, _RealClock
from testing.slack.server import int_param
from testing.slack.users import UsersAPI

IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "gif"})  # what a Block Kit slack_file may show


def file_type(upload: Upload) -> str:
    """The file's extension, lower case (``binary`` without one), as Slack's ``filetype``."""
    return upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "binary"


def file_urls(upload: Upload, *, origin: str, team_id: str, bot_user_id: str) -> tuple[str, str]:
    """The file's ``url_private`` and ``permalink``."""
    private = f"{origin}/files-pri/{team_id}-{upload.file_id}/{upload.filename}"
    return private, f"https://test.slack.com/files/{bot_user_id}/{upload.file_id}/{upload.filename}"


def image_files(uploads: Iterable[Upload], *, origin: str, team_id: str, bot_user_id: str) -> dict[str, str]:
    """Each completed image upload's id, ``url_private`` and ``permalink``, mapped to its id: the files a
    Block Kit ``slack_file`` may name (the bot uploaded every file here, so it may show each one)."""
    out: dict[str, str] = {}
    now = _RealClock.time()
    for u in uploads:
        if u.completed and u.data is not None and file_type(u) in IMAGE_TYPES and u.ready_at <= now:
            for ref in (u.file_id, *file_urls(u, origin=origin, team_id=team_id, bot_user_id=bot_user_id)):
                out[ref] = u.file_id
    return out


class FilesAPI(UsersAPI):
    """files.getUploadURLExternal and files.completeUploadExternal (what files_upload_v2 calls), files.delete."""

    # Slack processes an upload for a moment after files.completeUploadExternal; until then its
    # file object has no mimetype and a slack_file naming it is refused. Tests set this to see that.
    file_processing_s: float = 0.0

    API_METHODS = {
        "files.getUploadURLExternal": "_files_get_upload_url_external",
        "files.completeUploadExternal": "_files_complete_upload_external",
        "files.delete": "_files_delete",
    }

    @property
    def uploads(self) -> list[Upload]:
        """Files started with files.getUploadURLExternal, in order."""
        with self._lock:
            return list(self._uploads.values())

    def completed_uploads(self) -> list[Upload]:
        return [u for u in self.uploads if u.completed]

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = str(params.get("filename") or "")
        if not filename:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: filename"])
        if params.get("length") in (None, ""):
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: length"])
        length = int_param(params, "length")
        if length <= 0:
            raise SlackError("invalid_arguments", messages=["[ERROR] must be more than 0 [json-pointer:/length]"])
        token = secrets.token_urlsafe(12)
        upload = Upload(
            file_id=self._next_id("F"),
            filename=filename,
            length=length,
            upload_url=f"{self.origin}/upload/v1/{token}",
            alt_txt=params.get("alt_txt"),
            snippet_type=params.get("snippet_type"),
        )
        with self._lock:
            self._uploads[token] = upload
        return {"upload_url": upload.upload_url, "file_id": upload.file_id}

    def _file_object(self, upload: Upload) -> dict[str, Any]:
        now = int(_RealClock.time())
        extension = file_type(upload)
        mimetype = {
            "png": "image/png",
            "csv": "text/csv",
            "txt": "text/plain",
            "json": "application/json",
            "pdf": "application/pdf",
        }.get(extension, "application/octet-stream")
        if upload.ready_at > _RealClock.time():  # still being processed: Slack has not typed it yet
            mimetype = extension = ""
        channels = [c for c in [upload.channel_id, *upload.channels] if c]
        url_private, permalink = file_urls(
            upload, origin=self.origin, team_id=self.team_id, bot_user_id=self.bot_user_id
        )
        private = url_private.rsplit("/", 1)[0]
        return {
            "id": upload.file_id,
            "created": now,
            "timestamp": now,
            "name": upload.filename,
            "title": upload.title or upload.filename,
            "mimetype": mimetype,
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "editable": False,
            "size": len(upload.data or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(c.startswith("C") for c in channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url_private,
            "url_private_download": f"{private}/download/{upload.filename}",
            "permalink": permalink,
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [c for c in channels if c.startswith("C")],
            "groups": [c for c in channels if c.startswith("G")],
            "ims": [c for c in channels if c.startswith("D")],
            "has_more_shares": False,
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments", messages=["[ERROR] must provide an array [json-pointer:/files]"])
        channels = [c.strip() for c in str(params.get("channels") or "").split(",") if c.strip()]
        channel_id = params.get("channel_id") or None
        targets = [self._resolve_channel(c) for c in ([channel_id] if channel_id else []) + channels]
        with self._lock:
            by_id = {u.file_id: u for u in self._uploads.values()}
            chosen: list[tuple[Upload, dict[str, Any]]] = []
            for item in files:
                upload = by_id.get(str(item.get("id"))) if isinstance(item, dict) else None
                if upload is None or upload.data is None:
                    raise SlackError("file_not_found")
                chosen.append((upload, item))
            for upload, item in chosen:
                upload.title = item.get("title") or upload.filename
                upload.channel_id = targets[0] if channel_id else None
                upload.channels = targets[1:] if channel_id else targets
                upload.initial_comment = params.get("initial_comment")
                upload.thread_ts = params.get("thread_ts")
                upload.completed = True
                upload.ready_at = _RealClock.time() + self.file_processing_s
        return {"files": [self._file_object(upload) for upload, _ in chosen]}

    def _files_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file") or "")
        if not file_id:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: file"])
        with self._lock:
            tokens = [t for t, u in self._uploads.items() if u.file_id == file_id and u.completed]
            if not tokens:
                raise SlackError("file_not_found")
            for token in tokens:
                del self._uploads[token]
        return {}
