"""Kairan's data model: SQLAlchemy 2.x typed models. Imports nothing else of the project."""

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
from models.conversations import Conversation, ConversationStep
from models.deliveries import BatchStatus, Delivery, DeliveryBatch, DeliveryStatus
from models.records import AuditEntry, ProcessedWebhookEvent
from models.residents import FollowStatus, Resident
from models.responses import Acknowledgement, Channel, Open
from models.staff import Role, StaffInvite, StaffMember, StaffRole

__all__ = [
    "Acknowledgement",
    "AnswerOption",
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
    "Conversation",
    "ConversationStep",
    "Delivery",
    "DeliveryBatch",
    "DeliveryStatus",
    "District",
    "FollowStatus",
    "Group",
    "Open",
    "ProcessedWebhookEvent",
    "Resident",
    "Role",
    "StaffInvite",
    "StaffMember",
    "StaffRole",
    "UTCDateTime",
    "utcnow",
]
