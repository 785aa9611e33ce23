"""The EDM shapes the emulator's OData engine knows: entity, complex and enum types.

Stage: emulator, OData query engine (types). Hands ``PropType`` lookups to the filter binder
(``odata.filter``), the ``$select``/``$orderby`` checks (``odata.query``) and the per-resource
rules (``odata.rules``).

Transcribed from the Graph v1.0 CSDL (microsoftgraph/msgraph-metadata,
``clean_v10_metadata/cleanMetadata.xml``; see the o365sql reference ``graph-csdl-subset.json``):
every structural property of each entity type the emulator serves, and every complex and enum
type those reach, so ``$select`` accepts whatever v1.0 declares (the per-resource refusals Graph
documents live in ``odata.rules``). ``tests/emulator/test_emulator_select_csdl.py`` compares
these tables with the CSDL. They are written down here, not loaded, because the emulator must not
depend on the driver's catalog or on files outside the package. Base types are folded into
each entity.
Notation in the spec strings: ``name:Type`` with ``[Type]`` for ``Collection(Type)``; primitive
names are the ``Edm.`` names without the prefix.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

PRIMITIVES = frozenset(
    {"String", "Boolean", "DateTimeOffset", "Date", "TimeOfDay", "Int32", "Int64", "Double",
     "Guid", "Binary", "Stream"}
)


@dataclass(frozen=True)
class PropType:
    """The type of one property: ``kind`` is ``primitive``, ``enum`` or ``complex``."""

    name: str
    kind: str
    collection: bool = False

    @property
    def edm(self) -> str:
        """The name Graph's error messages use (``Edm.String``, ``microsoft.graph.importance``)."""
        return f"Edm.{self.name}" if self.kind == "primitive" else f"microsoft.graph.{self.name}"

    def element(self) -> PropType:
        """The item type of a collection."""
        return PropType(self.name, self.kind, False)


ENUMS: dict[str, tuple[str, ...]] = {
    "importance": ("low", "normal", "high"),
    "inferenceClassificationType": ("focused", "other"),
    "bodyType": ("text", "html"),
    "followupFlagStatus": ("notFlagged", "complete", "flagged"),
    "sensitivity": ("normal", "personal", "private", "confidential"),
    "freeBusyStatus": ("unknown", "free", "tentative", "busy", "oof", "workingElsewhere"),
    "eventType": ("singleInstance", "occurrence", "exception", "seriesMaster"),
    "attendeeType": ("required", "optional", "resource"),
    "responseType": ("none", "organizer", "tentativelyAccepted", "accepted", "declined",
                     "notResponded"),
    "locationType": ("default", "conferenceRoom", "homeAddress", "businessAddress",
                     "geoCoordinates", "streetAddress", "hotel", "restaurant", "localBusiness",
                     "postalAddress"),
    "calendarColor": ("auto", "lightBlue", "lightGreen", "lightOrange", "lightGray",
                      "lightYellow", "lightTeal", "lightPink", "lightBrown", "lightRed",
                      "maxColor"),
    "onlineMeetingProviderType": ("unknown", "skypeForBusiness", "skypeForConsumer",
                                  "teamsForBusiness"),
    "dayOfWeek": ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"),
    "weekIndex": ("first", "second", "third", "fourth", "last"),
    "recurrencePatternType": ("daily", "weekly", "absoluteMonthly", "relativeMonthly",
                              "absoluteYearly", "relativeYearly"),
    "recurrenceRangeType": ("endDate", "noEnd", "numbered"),
    "groupAccessType": ("none", "private", "secret", "public", "unknownFutureValue"),
    "locationUniqueIdType": ("unknown", "locationStore", "directory", "private", "bing"),
    "automaticRepliesStatus": ("disabled", "alwaysEnabled", "scheduled"),
    "externalAudienceScope": ("none", "contactsOnly", "all"),
    "delegateMeetingMessageDeliveryOptions": ("sendToDelegateAndInformationToPrincipal",
                                              "sendToDelegateAndPrincipal", "sendToDelegateOnly"),
    "userPurpose": ("user", "linked", "shared", "room", "equipment", "others",
                    "unknownFutureValue"),
    "phoneType": ("home", "business", "mobile", "other", "assistant", "homeFax", "businessFax",
                  "otherFax", "pager", "radio"),
}

_COMPLEX_SPEC: dict[str, str] = {
    "emailAddress": "address:String name:String",
    "recipient": "emailAddress:emailAddress",
    "attendee": "emailAddress:emailAddress type:attendeeType status:responseStatus "
                "proposedNewTime:timeSlot",
    "itemBody": "content:String contentType:bodyType",
    "dateTimeTimeZone": "dateTime:String timeZone:String",
    "physicalAddress": "city:String countryOrRegion:String postalCode:String state:String "
                       "street:String",
    "outlookGeoCoordinates": "accuracy:Double altitude:Double altitudeAccuracy:Double "
                             "latitude:Double longitude:Double",
    "location": "address:physicalAddress coordinates:outlookGeoCoordinates displayName:String "
                "locationEmailAddress:String locationType:locationType locationUri:String "
                "uniqueId:String uniqueIdType:locationUniqueIdType",
    "followupFlag": "completedDateTime:dateTimeTimeZone dueDateTime:dateTimeTimeZone "
                    "flagStatus:followupFlagStatus startDateTime:dateTimeTimeZone",
    "patternedRecurrence": "pattern:recurrencePattern range:recurrenceRange",
    "recurrencePattern": "dayOfMonth:Int32 daysOfWeek:[dayOfWeek] firstDayOfWeek:dayOfWeek "
                         "index:weekIndex interval:Int32 month:Int32 type:recurrencePatternType",
    "recurrenceRange": "endDate:Date numberOfOccurrences:Int32 recurrenceTimeZone:String "
                       "startDate:Date type:recurrenceRangeType",
    "responseStatus": "response:responseType time:DateTimeOffset",
    "internetMessageHeader": "name:String value:String",
    "onlineMeetingInfo": "conferenceId:String joinUrl:String phones:[phone] quickDial:String "
                         "tollFreeNumbers:[String] tollNumber:String",
    "phone": "language:String number:String region:String type:phoneType",
    "licenseProcessingState": "state:String",
    "timeSlot": "end:dateTimeTimeZone start:dateTimeTimeZone",
    "assignedLicense": "disabledPlans:[Guid] skuId:Guid",
    "assignedPlan": "assignedDateTime:DateTimeOffset capabilityStatus:String service:String "
                    "servicePlanId:Guid",
    "provisionedPlan": "capabilityStatus:String provisioningStatus:String service:String",
    "passwordProfile": "forceChangePasswordNextSignIn:Boolean "
                       "forceChangePasswordNextSignInWithMfa:Boolean password:String",
    "employeeOrgData": "costCenter:String division:String",
    "objectIdentity": "issuer:String issuerAssignedId:String signInType:String",
    "onPremisesProvisioningError": "category:String occurredDateTime:DateTimeOffset "
                                   "propertyCausingError:String value:String",
    "onPremisesExtensionAttributes": " ".join(f"extensionAttribute{i}:String"
                                              for i in range(1, 16)),
    "signInActivity": "lastNonInteractiveSignInDateTime:DateTimeOffset "
                      "lastNonInteractiveSignInRequestId:String lastSignInDateTime:DateTimeOffset "
                      "lastSignInRequestId:String lastSuccessfulSignInDateTime:DateTimeOffset "
                      "lastSuccessfulSignInRequestId:String",
    "mailboxSettings": "archiveFolder:String automaticRepliesSetting:automaticRepliesSetting "
                       "dateFormat:String "
                       "delegateMeetingMessageDeliveryOptions:delegateMeetingMessageDeliveryOptions "
                       "language:localeInfo timeFormat:String timeZone:String "
                       "userPurpose:userPurpose workingHours:workingHours",
    "automaticRepliesSetting": "externalAudience:externalAudienceScope "
                               "externalReplyMessage:String internalReplyMessage:String "
                               "scheduledEndDateTime:dateTimeTimeZone "
                               "scheduledStartDateTime:dateTimeTimeZone "
                               "status:automaticRepliesStatus",
    "localeInfo": "displayName:String locale:String",
    "workingHours": "daysOfWeek:[dayOfWeek] endTime:TimeOfDay startTime:TimeOfDay "
                    "timeZone:timeZoneBase",
    "timeZoneBase": "name:String",
    "assignedLabel": "displayName:String labelId:String",
    "licenseAssignmentState": "assignedByGroup:String disabledPlans:[Guid] error:String "
                              "lastUpdatedDateTime:DateTimeOffset skuId:Guid state:String",
    "authorizationInfo": "certificateUserIds:[String]",
    # Open type without declared members (custom security attribute sets are dynamic).
    "customSecurityAttributeValue": "",
    # Only a navigation property (recentPrinterShares), no structural members.
    "userPrint": "",
    "serviceProvisioningError": "createdDateTime:DateTimeOffset isResolved:Boolean "
                                "serviceInstance:String",
}

_OUTLOOK_ITEM = ("id:String categories:[String] changeKey:String createdDateTime:DateTimeOffset "
                 "lastModifiedDateTime:DateTimeOffset ")
_DIRECTORY_OBJECT = "id:String deletedDateTime:DateTimeOffset "

_ENTITY_SPEC: dict[str, str] = {
    "message": _OUTLOOK_ITEM + (
        "bccRecipients:[recipient] body:itemBody bodyPreview:String ccRecipients:[recipient] "
        "conversationId:String conversationIndex:Binary flag:followupFlag from:recipient "
        "hasAttachments:Boolean importance:importance "
        "inferenceClassification:inferenceClassificationType "
        "internetMessageHeaders:[internetMessageHeader] internetMessageId:String "
        "isDeliveryReceiptRequested:Boolean isDraft:Boolean isRead:Boolean "
        "isReadReceiptRequested:Boolean parentFolderId:String receivedDateTime:DateTimeOffset "
        "replyTo:[recipient] sender:recipient sentDateTime:DateTimeOffset subject:String "
        "toRecipients:[recipient] uniqueBody:itemBody webLink:String"),
    "event": _OUTLOOK_ITEM + (
        "allowNewTimeProposals:Boolean attendees:[attendee] body:itemBody bodyPreview:String "
        "cancelledOccurrences:[String] end:dateTimeTimeZone hasAttachments:Boolean "
        "hideAttendees:Boolean iCalUId:String importance:importance isAllDay:Boolean "
        "isCancelled:Boolean isDraft:Boolean isOnlineMeeting:Boolean isOrganizer:Boolean "
        "isReminderOn:Boolean location:location locations:[location] "
        "onlineMeeting:onlineMeetingInfo onlineMeetingProvider:onlineMeetingProviderType "
        "onlineMeetingUrl:String organizer:recipient originalEndTimeZone:String "
        "originalStart:DateTimeOffset originalStartTimeZone:String "
        "recurrence:patternedRecurrence reminderMinutesBeforeStart:Int32 "
        "responseRequested:Boolean responseStatus:responseStatus sensitivity:sensitivity "
        "seriesMasterId:String showAs:freeBusyStatus start:dateTimeTimeZone subject:String "
        "transactionId:String type:eventType webLink:String"),
    "contact": _OUTLOOK_ITEM + (
        "assistantName:String birthday:DateTimeOffset businessAddress:physicalAddress "
        "businessHomePage:String businessPhones:[String] children:[String] companyName:String "
        "department:String displayName:String emailAddresses:[emailAddress] fileAs:String "
        "generation:String givenName:String homeAddress:physicalAddress homePhones:[String] "
        "imAddresses:[String] initials:String jobTitle:String manager:String middleName:String "
        "mobilePhone:String nickName:String officeLocation:String otherAddress:physicalAddress "
        "parentFolderId:String personalNotes:String primaryEmailAddress:emailAddress "
        "profession:String secondaryEmailAddress:emailAddress spouseName:String "
        "surname:String tertiaryEmailAddress:emailAddress title:String yomiCompanyName:String yomiGivenName:String "
        "yomiSurname:String"),
    "mailFolder": ("id:String childFolderCount:Int32 displayName:String isHidden:Boolean "
                   "parentFolderId:String totalItemCount:Int32 unreadItemCount:Int32"),
    "contactFolder": "id:String displayName:String parentFolderId:String",
    "calendar": ("id:String allowedOnlineMeetingProviders:[onlineMeetingProviderType] "
                 "canEdit:Boolean canShare:Boolean canViewPrivateItems:Boolean changeKey:String "
                 "color:calendarColor defaultOnlineMeetingProvider:onlineMeetingProviderType "
                 "hexColor:String isDefaultCalendar:Boolean isRemovable:Boolean "
                 "isTallyingResponses:Boolean name:String owner:emailAddress"),
    # Graph lists attachments with base-type properties only (graph-semantics §3.8: $select of
    # a derived-only property such as contentId fails on microsoft.graph.attachment).
    "attachment": ("id:String contentType:String isInline:Boolean "
                   "lastModifiedDateTime:DateTimeOffset name:String size:Int32"),
    # The derived attachment types, for write bodies (message-post-attachments.md); the list
    # route keeps the base type above for $select.
    "fileAttachment": ("id:String contentType:String isInline:Boolean "
                       "lastModifiedDateTime:DateTimeOffset name:String size:Int32 "
                       "contentBytes:Binary contentId:String contentLocation:String"),
    "itemAttachment": ("id:String contentType:String isInline:Boolean "
                       "lastModifiedDateTime:DateTimeOffset name:String size:Int32"),
    "referenceAttachment": ("id:String contentType:String isInline:Boolean "
                            "lastModifiedDateTime:DateTimeOffset name:String size:Int32"),
    "user": _DIRECTORY_OBJECT + (
        "aboutMe:String accountEnabled:Boolean ageGroup:String "
        "assignedLicenses:[assignedLicense] assignedPlans:[assignedPlan] "
        "authorizationInfo:authorizationInfo "
        "birthday:DateTimeOffset businessPhones:[String] city:String companyName:String "
        "consentProvidedForMinor:String country:String createdDateTime:DateTimeOffset "
        "creationType:String customSecurityAttributes:customSecurityAttributeValue "
        "department:String deviceEnrollmentLimit:Int32 displayName:String "
        "employeeHireDate:DateTimeOffset employeeId:String "
        "employeeLeaveDateTime:DateTimeOffset employeeOrgData:employeeOrgData "
        "employeeType:String externalUserState:String "
        "externalUserStateChangeDateTime:DateTimeOffset faxNumber:String givenName:String "
        "hireDate:DateTimeOffset identities:[objectIdentity] identityParentId:String "
        "imAddresses:[String] interests:[String] isManagementRestricted:Boolean "
        "isResourceAccount:Boolean jobTitle:String "
        "lastPasswordChangeDateTime:DateTimeOffset legalAgeGroupClassification:String "
        "licenseAssignmentStates:[licenseAssignmentState] mail:String "
        "mailboxSettings:mailboxSettings mailNickname:String mobilePhone:String mySite:String "
        "officeLocation:String onPremisesDistinguishedName:String onPremisesDomainName:String "
        "onPremisesExtensionAttributes:onPremisesExtensionAttributes "
        "onPremisesImmutableId:String onPremisesLastSyncDateTime:DateTimeOffset "
        "onPremisesProvisioningErrors:[onPremisesProvisioningError] "
        "onPremisesSamAccountName:String onPremisesSecurityIdentifier:String "
        "onPremisesSyncEnabled:Boolean onPremisesUserPrincipalName:String otherMails:[String] "
        "passwordPolicies:String passwordProfile:passwordProfile pastProjects:[String] "
        "postalCode:String preferredDataLocation:String preferredLanguage:String "
        "preferredName:String print:userPrint provisionedPlans:[provisionedPlan] "
        "proxyAddresses:[String] "
        "responsibilities:[String] schools:[String] securityIdentifier:String "
        "serviceProvisioningErrors:[serviceProvisioningError] showInAddressList:Boolean "
        "signInActivity:signInActivity signInSessionsValidFromDateTime:DateTimeOffset "
        "skills:[String] state:String streetAddress:String surname:String "
        "usageLocation:String userPrincipalName:String userType:String"),
    "group": _DIRECTORY_OBJECT + (
        "accessType:groupAccessType allowExternalSenders:Boolean assignedLabels:[assignedLabel] "
        "assignedLicenses:[assignedLicense] autoSubscribeNewMembers:Boolean "
        "classification:String createdDateTime:DateTimeOffset description:String "
        "displayName:String expirationDateTime:DateTimeOffset groupTypes:[String] "
        "hasMembersWithLicenseErrors:Boolean hideFromAddressLists:Boolean "
        "hideFromOutlookClients:Boolean infoCatalogs:[String] isArchived:Boolean "
        "isAssignableToRole:Boolean isFavorite:Boolean isManagementRestricted:Boolean "
        "isSubscribedByMail:Boolean licenseProcessingState:licenseProcessingState "
        "mail:String mailEnabled:Boolean mailNickname:String "
        "membershipRule:String membershipRuleProcessingState:String "
        "onPremisesDomainName:String onPremisesExtensionAttributes:onPremisesExtensionAttributes "
        "onPremisesLastSyncDateTime:DateTimeOffset onPremisesNetBiosName:String onPremisesProvisioningErrors:[onPremisesProvisioningError] "
        "onPremisesSamAccountName:String onPremisesSecurityIdentifier:String "
        "onPremisesSyncEnabled:Boolean organizationId:String preferredDataLocation:String "
        "preferredLanguage:String proxyAddresses:[String] renewedDateTime:DateTimeOffset "
        "resourceBehaviorOptions:[String] resourceProvisioningOptions:[String] "
        "securityEnabled:Boolean securityIdentifier:String "
        "serviceProvisioningErrors:[serviceProvisioningError] theme:String uniqueName:String "
        "unseenConversationsCount:Int32 unseenCount:Int32 unseenMessagesCount:Int32 "
        "visibility:String welcomeMessageEnabled:Boolean"),
}


def _type_of(token: str) -> PropType:
    collection = token.startswith("[")
    name = token.strip("[]")
    if name in PRIMITIVES:
        kind = "primitive"
    elif name in ENUMS:
        kind = "enum"
    elif name in _COMPLEX_SPEC:
        kind = "complex"
    else:  # a typo in the spec tables above must fail at import, not at request time
        raise ValueError(f"unknown type {name!r} in the emulator's schema")
    return PropType(name, kind, collection)


def _parse_spec(spec: str) -> dict[str, PropType]:
    props: dict[str, PropType] = {}
    for part in spec.split():
        name, _, type_token = part.partition(":")
        props[name] = _type_of(type_token)
    return props


COMPLEX: dict[str, dict[str, PropType]] = {n: _parse_spec(s) for n, s in _COMPLEX_SPEC.items()}
ENTITIES: dict[str, dict[str, PropType]] = {n: _parse_spec(s) for n, s in _ENTITY_SPEC.items()}
# /groups/{id}/members is a collection of directoryObject; its items are users and groups and
# Graph accepts their properties in $select (directoryObject is an open type).
ENTITIES["directoryObject"] = {**ENTITIES["group"], **ENTITIES["user"]}

# Navigation properties a $filter may reach like a collection of complex values: single-value
# extended properties, ``singleValueExtendedProperties/any(ep: ep/id eq '...' and ep/value eq
# '...')`` (graph-semantics §2.1, singlevaluelegacyextendedproperty-get.md). Kept apart from
# ENTITIES, which holds exactly the CSDL's structural properties; the emulator stores them for
# the items whose create/update bodies may carry them (odata.body NAVIGATION).
EXTENDED = "singleValueExtendedProperties"
COMPLEX["singleValueLegacyExtendedProperty"] = _parse_spec("id:String value:String")
FILTERABLE_NAVIGATION: dict[str, dict[str, PropType]] = {
    entity: {EXTENDED: PropType("singleValueLegacyExtendedProperty", "complex", True)}
    for entity in ("message", "event", "contact")}


@functools.cache
def _index_tables(entity: str) -> tuple[Mapping[str, PropType], dict[str, str],
                                        dict[str, dict[str, str]]]:
    props = {**ENTITIES[entity], **FILTERABLE_NAVIGATION.get(entity, {})}
    return (props, {name.lower(): name for name in props},
            _complex_tables())


@functools.cache
def _complex_tables() -> dict[str, dict[str, str]]:
    return {cname: {p.lower(): p for p in cprops} for cname, cprops in COMPLEX.items()}


class PropertyIndex:
    """Case-insensitive property lookup for one entity type.

    Graph accepts property names in any case in Outlook filters (graph-semantics §2.2, docs use
    ``Subject`` and ``ReceivedDateTime``); the emulator accepts them case-insensitively on every
    resource (inferred for directory objects) and always answers with the CSDL spelling.
    """

    def __init__(self, entity: str) -> None:
        self.entity = entity
        # Built once per entity (every request's $select/$filter/$orderby makes an index).
        self.props, self._folded, self._complex_folded = _index_tables(entity)

    def top(self, name: str) -> tuple[str, PropType] | None:
        """The canonical name and type of a top-level property, or None."""
        canonical = self._folded.get(name.lower())
        return (canonical, self.props[canonical]) if canonical else None

    def member(self, complex_name: str, name: str) -> tuple[str, PropType] | None:
        """A property of a complex type, or None."""
        canonical = self._complex_folded[complex_name].get(name.lower())
        return (canonical, COMPLEX[complex_name][canonical]) if canonical else None
