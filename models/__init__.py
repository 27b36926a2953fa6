"""Kairan's data model: SQLAlchemy 2.x typed models. Imports nothing else of the project."""

from models.archive import ArchiveSearch
from models.areas import Association, District, DistrictStatus, Group
from models.base import MAX_ID, Base, UTCDateTime, utcnow
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
from models.deliveries import (
    CARD,
    BatchStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    DeliveryWorker,
)
from models.households import (
    Household,
    HouseholdInvite,
    HouseholdMember,
    LabelRequest,
    PaperHousehold,
    ProxyConfirmation,
    WatchOverOptOut,
    WatchOverSetting,
)
from models.inbox import InboxMessage, InboxPrompt, InboxPush, InboxThread, ThreadStatus
from models.logins import DashboardSession, LoginLink
from models.records import AuditEntry, ProcessedWebhookEvent
from models.residents import FollowStatus, Resident
from models.responses import Acknowledgement, Channel, Open
from models.rollout import CircularTemplate, DistrictWelcome, JoinCode, JoinCodeFailure
from models.scheduling import HoldNotice, OfficerDigest, QuotaHold, SchedulerLease
from models.staff import Role, StaffInvite, StaffMember, StaffRole
from models.translations import EASY_JAPANESE, CircularTranslation

__all__ = [
    "CARD",
    "EASY_JAPANESE",
    "MAX_ID",
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
    "CircularTemplate",
    "CircularTranslation",
    "ComposeSession",
    "ComposeStep",
    "Conversation",
    "ConversationStep",
    "DashboardSession",
    "Delivery",
    "DeliveryBatch",
    "DeliveryStatus",
    "DeliveryWorker",
    "District",
    "DistrictStatus",
    "DistrictWelcome",
    "FollowStatus",
    "Group",
    "HoldNotice",
    "Household",
    "HouseholdInvite",
    "HouseholdMember",
    "InboxMessage",
    "InboxPrompt",
    "InboxPush",
    "InboxThread",
    "JoinCode",
    "JoinCodeFailure",
    "LabelRequest",
    "LoginLink",
    "OfficerDigest",
    "Open",
    "PaperHousehold",
    "ProcessedWebhookEvent",
    "ProxyConfirmation",
    "QuotaHold",
    "Resident",
    "Role",
    "SchedulerLease",
    "StaffInvite",
    "StaffMember",
    "StaffRole",
    "ThreadStatus",
    "UTCDateTime",
    "WatchOverOptOut",
    "WatchOverSetting",
    "utcnow",
]
