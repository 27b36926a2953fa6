"""Kairan's data model: SQLAlchemy 2.x typed models. Imports nothing else of the project."""

from models.archive import ArchiveSearch
from models.areas import Association, District, DistrictStatus, Group
from models.base import MAX_ID, Base, UTCDateTime, utcnow
from models.circulars import (
    ANSWER_TEXT_LIMIT,
    MAX_HEADCOUNT,
    AnswerOption,
    Attachment,
    AttachmentKind,
    Circular,
    CircularStatus,
    CircularTarget,
    QuestionKind,
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
from models.interest_groups import (
    CircularInterestTarget,
    InterestGroup,
    InterestMembership,
    Posters,
)
from models.line_groups import GroupPost, LineGroup, LineGroupCode
from models.logins import DashboardSession, LoginLink
from models.records import AuditEntry, ProcessedWebhookEvent
from models.residents import FollowStatus, Resident
from models.responses import Acknowledgement, AnswerPrompt, Channel, Open
from models.rollout import CircularTemplate, DistrictWelcome, JoinCode, JoinCodeFailure
from models.scheduling import HoldNotice, OfficerDigest, QuotaHold, SchedulerLease
from models.staff import Role, StaffInvite, StaffMember, StaffRole
from models.translations import EASY_JAPANESE, CircularTranslation

__all__ = [
    "ANSWER_TEXT_LIMIT",
    "CARD",
    "EASY_JAPANESE",
    "MAX_HEADCOUNT",
    "MAX_ID",
    "Acknowledgement",
    "AnswerOption",
    "AnswerPrompt",
    "ArchiveSearch",
    "Association",
    "Attachment",
    "AttachmentKind",
    "AuditEntry",
    "Base",
    "BatchStatus",
    "Channel",
    "Circular",
    "CircularInterestTarget",
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
    "GroupPost",
    "HoldNotice",
    "Household",
    "HouseholdInvite",
    "HouseholdMember",
    "InboxMessage",
    "InboxPrompt",
    "InboxPush",
    "InboxThread",
    "InterestGroup",
    "InterestMembership",
    "JoinCode",
    "JoinCodeFailure",
    "LabelRequest",
    "LineGroup",
    "LineGroupCode",
    "LoginLink",
    "OfficerDigest",
    "Open",
    "PaperHousehold",
    "Posters",
    "ProcessedWebhookEvent",
    "ProxyConfirmation",
    "QuestionKind",
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
