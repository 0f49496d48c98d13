"""files.getUploadURLExternal and files.completeUploadExternal (what files_upload_v2 calls)."""

from __future__ import annotations

import secrets
from typing import Any

from testing.slack.records import SlackError, Upload, _RealClock
from testing.slack.server import int_param
from testing.slack.users import UsersAPI


class FilesAPI(UsersAPI):
    """files.getUploadURLExternal and files.completeUploadExternal (what files_upload_v2 calls)."""

    API_METHODS = {
        "files.getUploadURLExternal": "_files_get_upload_url_external",
        "files.completeUploadExternal": "_files_complete_upload_external",
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
        extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "binary"
        mimetype = {
            "png": "image/png",
            "csv": "text/csv",
            "txt": "text/plain",
            "json": "application/json",
            "pdf": "application/pdf",
        }.get(extension, "application/octet-stream")
        channels = [c for c in [upload.channel_id, *upload.channels] if c]
        private = f"{self.origin}/files-pri/{self.team_id}-{upload.file_id}"
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
            "url_private": f"{private}/{upload.filename}",
            "url_private_download": f"{private}/download/{upload.filename}",
            "permalink": f"https://test.slack.com/files/{self.bot_user_id}/{upload.file_id}/{upload.filename}",
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
        return {"files": [self._file_object(upload) for upload, _ in chosen]}
