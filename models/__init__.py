"""Kairan's data model: SQLAlchemy 2.x typed models. Imports nothing else of the project."""

from models.archive import ArchiveSearch
from models.areas import Association, District, Group
from models.base import Base, UTCDateTime, utcnow
from models.circulars import (
    AnswerOption,
    Attachment,
    AttachmentKind,
    Circular,
    CircularStatus,
    CircularTarget,
)
from models.composing import ComposeSession, ComposeStep
from models.conversations import Conversation, ConversationStep
from models.deliveries import CARD, BatchStatus, Delivery, DeliveryBatch, DeliveryStatus
from models.logins import LoginLink
from models.records import AuditEntry, ProcessedWebhookEvent
from models.residents import FollowStatus, Resident
from models.responses import Acknowledgement, Channel, Open
from models.scheduling import OfficerDigest, SchedulerLease
from models.staff import Role, StaffInvite, StaffMember, StaffRole

__all__ = [
    "CARD",
    "Acknowledgement",
    "AnswerOption",
    "ArchiveSearch",
    "Association",
    "Attachment",
    "AttachmentKind",
    "AuditEntry",
    "Base",
    "BatchStatus",
    "Channel",
    "Circular",
    "CircularStatus",
    "CircularTarget",
    "ComposeSession",
    "ComposeStep",
    "Conversation",
    "ConversationStep",
    "Delivery",
    "DeliveryBatch",
    "DeliveryStatus",
    "District",
    "FollowStatus",
    "Group",
    "LoginLink",
    "OfficerDigest",
    "Open",
    "ProcessedWebhookEvent",
    "Resident",
    "Role",
    "SchedulerLease",
    "StaffInvite",
    "StaffMember",
    "StaffRole",
    "UTCDateTime",
    "utcnow",
]
