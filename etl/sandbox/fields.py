"""The EnrichLead field model the sandbox knows (the server's GraphQL input type).

A key outside this set makes the real server answer 500 "no data returned" (that is
what bug 3, ``phone``, really is), so the sandbox does the same. The synthetic export
records draw their columns from these groups too.
"""

from __future__ import annotations

#: Fields the server sets itself; a client may not send them on create.
SERVER_FIELDS: frozenset[str] = frozenset({"id", "owner", "company_id", "createdAt", "updatedAt"})

IDENTITY_FIELDS: tuple[str, ...] = (
    "firstName", "lastName", "fullName", "email", "personalEmail", "title", "seniority",
    "department", "linkedinUrl", "twitterUrl", "phoneNumber", "mobileNumber", "city", "state",
    "country", "timezone", "headline", "photoUrl", "middleName", "skills", "languages",
)  # fmt: skip

COMPANY_FIELDS: tuple[str, ...] = (
    "companyName", "companyDomain", "companyUrl", "companyLinkedinUrl", "industry",
    "subIndustry", "employeeCount", "employeeRange", "annualRevenue", "revenueRange",
    "foundedYear", "companyCity", "companyState", "companyCountry", "companyPhone",
    "companyDescription", "technologies", "fundingStage", "totalFunding", "lastFundingDate",
    "companyType", "naicsCode", "sicCode", "parentCompany", "companyTwitterUrl",
    "companyFacebookUrl", "websiteTraffic",
)  # fmt: skip

AI_FIELDS: tuple[str, ...] = (
    "aiLeadScore", "aiQualification", "aiJustification", "aiRecommendations",
    "aiSdrSynthesis", "aiPersona", "aiIntent", "aiPainPoints", "aiNextBestAction",
    "leadScore", "justification", "recommendations", "sdrSynthesis", "icpFit",
    "buyingIntentScore", "engagementScore",
)  # fmt: skip

ENGAGEMENT_FIELDS: tuple[str, ...] = (
    "emailOpens", "emailClicks", "emailReplies", "emailBounces", "meetingsBooked",
    "callsMade", "linkedinConnections", "linkedinMessages", "websiteVisits",
    "lastContactedAt", "lastRepliedAt", "lastActivityAt", "sequenceName", "sequenceStep",
)  # fmt: skip

META_FIELDS: tuple[str, ...] = (
    "client_id", "notes", "source", "sourceId", "status", "stage", "tags", "listName",
    "campaignName", "assignedTo", "emailStatus", "emailVerifiedAt", "enrichedAt",
    "enrichmentProvider", "copyrightStatus", "processingStatus", "externalId", "crmId",
    "crmUrl", "hubspotId", "salesforceId",
)  # fmt: skip

#: Every field a client may send in a create/update payload.
CLIENT_FIELDS: frozenset[str] = frozenset(
    IDENTITY_FIELDS + COMPANY_FIELDS + AI_FIELDS + ENGAGEMENT_FIELDS + META_FIELDS
)

#: Every field a stored lead may carry.
ALL_FIELDS: frozenset[str] = CLIENT_FIELDS | SERVER_FIELDS
