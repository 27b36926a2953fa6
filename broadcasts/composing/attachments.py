"""Attachments: the PDFs and photos of a draft, checked by their content and stored under an
unguessable name; and the housekeeping that finds files no attachment names any more."""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.composing.drafts import EDITABLE, CompositionError, require_manage
from broadcasts.core.i18n import StaffText
from models import Attachment, AttachmentKind, Circular, StaffMember

ATTACHMENT_LIMIT = 10 * 1024 * 1024  # bytes, per file
MAX_ATTACHMENTS = 10
# A photo larger than this is scaled down: phones take 4000 px photos; nobody needs them here.
IMAGE_MAX_SIDE = 2048
# Refuse decompression bombs before Pillow decodes them (50 million pixels ≈ 8000 × 6000).
IMAGE_MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class _Sniffed:
    kind: AttachmentKind
    content_type: str
    extension: str
    data: bytes


def add_attachment(
    session: Session,
    circular: Circular,
    filename: str,
    data: bytes,
    storage_dir: Path,
) -> Attachment:
    """Check `data` by its content (never its name), store it under an unguessable name in
    `storage_dir`, and attach it to the draft.

    PDFs are stored as sent (they must start with ``%PDF-``). Photos (JPEG, PNG) are decoded and
    re-encoded: that drops their metadata — phones put the place a photo was taken in its EXIF —
    turns them upright and scales them to at most 2048 px. Anything else is refused.
    The file is written before the transaction commits; if it rolls back, an unreferenced file
    with a random name is left behind, which serves nobody.
    """
    if circular.status not in EDITABLE:
        raise CompositionError("status", StaffText("送信済みや取り消した回覧は変更できません"))
    if len(circular.attachments) >= MAX_ATTACHMENTS:
        raise CompositionError(
            "attachment", StaffText("添付は%(most)s個までです", most=MAX_ATTACHMENTS)
        )
    sniffed = sniff(data)
    storage_name = secrets.token_urlsafe(32) + sniffed.extension
    storage_dir.mkdir(parents=True, exist_ok=True)
    partial = storage_dir / (storage_name + ".part")
    partial.write_bytes(sniffed.data)
    partial.replace(storage_dir / storage_name)
    name = Path(filename.replace("\\", "/")).name.strip()[:255] or f"file{sniffed.extension}"
    position = max((a.position for a in circular.attachments), default=0) + 1
    attachment = Attachment(
        position=position,
        kind=sniffed.kind,
        original_name=name,
        storage_name=storage_name,
        content_type=sniffed.content_type,
        size_bytes=len(sniffed.data),
    )
    circular.attachments.append(attachment)
    session.flush()
    return attachment


def sniff(data: bytes) -> _Sniffed:
    """What the bytes are, by content, or CompositionError("attachment", why not)."""
    if not data:
        raise CompositionError("attachment", StaffText("ファイルが空です"))
    if len(data) > ATTACHMENT_LIMIT:
        raise CompositionError(
            "attachment",
            StaffText(
                "ファイルは%(megabytes)sMBまでです", megabytes=ATTACHMENT_LIMIT // (1024 * 1024)
            ),
        )
    if data.startswith(b"%PDF-"):
        return _Sniffed(AttachmentKind.pdf, "application/pdf", ".pdf", data)
    refused = CompositionError("attachment", StaffText("PDF か写真（JPEG・PNG）だけ添付できます"))
    # Pillow is loaded where a photo is read: most commands (and `kairan --help`) never do.
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                if probe.width * probe.height > IMAGE_MAX_PIXELS:
                    raise CompositionError("attachment", StaffText("写真が大きすぎます"))
                probe.verify()
            if image_format not in ("JPEG", "PNG"):
                raise refused
            # verify() leaves the image unusable: open it again to decode it.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
                out = io.BytesIO()
                if image_format == "JPEG":
                    upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
                    return _Sniffed(AttachmentKind.image, "image/jpeg", ".jpg", out.getvalue())
                upright.save(out, "PNG", optimize=True)
                return _Sniffed(AttachmentKind.image, "image/png", ".png", out.getvalue())
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise refused from None


def remove_attachment(
    session: Session, author: StaffMember | None, circular: Circular, attachment_id: int
) -> None:
    """Drop an attachment from a draft (its file stays until housekeeping removes it as
    unreferenced, see `unreferenced_files`)."""
    require_manage(session, author, circular)
    if circular.status not in EDITABLE:
        raise CompositionError("status", StaffText("送信済みや取り消した回覧は変更できません"))
    circular.attachments = [a for a in circular.attachments if a.id != attachment_id]
    session.flush()


# An upload is written before its transaction commits: only files older than this can be
# known to be nobody's.
UNREFERENCED_AFTER = timedelta(days=1)


def unreferenced_files(session: Session, now: datetime, storage_dir: Path) -> list[Path]:
    """Files in `storage_dir` no attachment names, untouched for a day: left by discarded
    drafts, removed attachments and uploads whose transaction rolled back. The caller deletes
    them (after its read ends)."""
    if not storage_dir.is_dir():
        return []
    cutoff = (now - UNREFERENCED_AFTER).timestamp()
    old = {
        path.name: path
        for path in storage_dir.iterdir()
        if path.is_file() and path.stat().st_mtime < cutoff
    }
    names = list(old)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        for known in session.scalars(
            select(Attachment.storage_name).where(Attachment.storage_name.in_(chunk))
        ):
            del old[known]
    return sorted(old.values())


def first_photo(circular: Circular) -> Attachment | None:
    return next((a for a in circular.attachments if a.kind is AttachmentKind.image), None)
