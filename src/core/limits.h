/*
 * limits.h — Parley's named limits.  Every limit a client can hit has a name
 * here and a line in docs/api.md (generated from the method table, which uses
 * these names).  Character counts are Unicode code points.
 */
#ifndef PL_CORE_LIMITS_H
#define PL_CORE_LIMITS_H

#define PL_USERNAME_MIN 5          /* username: 5..32 of [a-z0-9_] */
#define PL_USERNAME_MAX 32
#define PL_PASSWORD_MIN 8          /* password: 8..256 characters */
#define PL_PASSWORD_MAX 256
#define PL_NAME_MAX 64             /* display name, chat title, link name */
#define PL_BIO_MAX 255             /* bio, chat description */
#define PL_DEVICE_MAX 64           /* session device label */
#define PL_MESSAGE_MAX 4096        /* message text */
#define PL_QUERY_MAX 256           /* search query */
#define PL_PAGE_MAX 100            /* messages, dialogs or members per page */
#define PL_PAGE_DEFAULT 50
#define PL_INITIAL_MEMBERS_MAX 200 /* members named in createGroup / addChatMembers */
#define PL_GROUP_MEMBERS_MAX 200000 /* members of one group */
#define PL_BATCH_MAX 100           /* message ids in deleteMessages / viewMessages */
#define PL_INVITE_LIMIT_MAX 99999  /* member_limit of an invite link */
#define PL_INVITE_LINKS_MAX 1000   /* invite links listed per chat */
#define PL_SESSIONS_MAX 100        /* sessions kept per user; the oldest is dropped */
#define PL_DIFF_MAX 1000           /* updates in one getDifference / getUpdates reply */
#define PL_DIFF_BYTES_MAX (1024 * 1024) /* update bodies in one such reply: past it the reply ends
					 * early (more: true), so that it fits ws_max_pending_bytes */
#define PL_POLL_TIMEOUT_MAX 50     /* seconds getUpdates may wait */

/* Trust & safety (docs/policy.md). */
#define PL_REPORT_TEXT_MAX 2000    /* report text, notice explanation, appeal text */
#define PL_LOCATION_MAX 1000       /* a notice's location as the notifier wrote it (URL, ...) */
#define PL_EMAIL_MAX 254           /* notifier / flagger email */
#define PL_FACTS_MAX 4000          /* facts and circumstances of a decision */
#define PL_REFERENCE_MAX 500       /* legal provision or terms-of-service clause relied on */
#define PL_TERRITORIES_MAX 64      /* country codes in one territorial restriction */
#define PL_SUSPEND_DAYS_MAX 3650   /* a timed suspension; longer is "permanent" (omit duration_days) */
#define PL_APPEAL_WINDOW_DAYS 183  /* DSA Art. 20: at least six months to appeal */
#define PL_DUPLICATE_BONUS_MAX 20  /* priority added by merged duplicate signals, at most */
#define PL_CASE_CONTEXT 3          /* messages shown before and after a reported one (getCase) */
#define PL_EXPORT_MAX 1000         /* statements per exportStatements page */
#define PL_CASE_SIGNALS_MAX 200    /* signals listed per case in getCase (newest) */

/* Media (docs/media.md; the byte and pixel limits are settings). */
#define PL_CAPTION_MAX 1024        /* caption of a photo, document, voice note or video */
#define PL_FILE_NAME_MAX 255       /* characters of a file name kept (longer ones are cut) */
#define PL_DURATION_MAX 86400      /* seconds of a voice note or video, as the sender says */
#define PL_UPLOAD_FIELDS_MAX 16    /* form fields of one multipart upload */
#define PL_UPLOAD_FIELD_MAX 8192   /* bytes of one form field (not the file) */
#define PL_FILE_CHATS_CHECKED 100  /* chats holding a file looked at to grant access */

#endif
