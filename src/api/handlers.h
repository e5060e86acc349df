/*
 * handlers.h — the API method handlers named in methods.c.  Private to
 * src/api.  Each takes the call (decoded parameters in call->v, in the order
 * of the method's parameter list; call->tx set up by the runner) and the
 * store handle of the phase it runs in, and returns 0 with call->result set,
 * or a negative pl_err with the failure code on call or call->tx.
 */
#ifndef PL_API_HANDLERS_H
#define PL_API_HANDLERS_H

#include "api/api.h"

struct core_access;

#define H(name) int name(struct api_call *call, struct store *s);
/* accounts */
H(h_register_prep) H(h_register) H(h_login_prep) H(h_login) H(h_logout) H(h_get_me) H(h_get_sessions)
H(h_revoke_session) H(h_update_profile) H(h_get_user) H(h_block_user) H(h_unblock_user) H(h_get_blocked)
/* chats */
H(h_create_group) H(h_create_channel) H(h_get_chat) H(h_get_chat_member) H(h_get_member_count) H(h_get_admins)
H(h_get_members) H(h_add_members) H(h_ban_member) H(h_unban_member) H(h_promote_member) H(h_set_title)
H(h_set_description) H(h_set_permissions) H(h_set_username) H(h_leave_chat) H(h_join_chat) H(h_create_link)
H(h_export_link) H(h_revoke_link) H(h_get_links)
/* messages */
H(h_send_message) H(h_forward_message) H(h_edit_message) H(h_delete_message) H(h_delete_messages)
H(h_pin_message) H(h_unpin_message) H(h_read_history) H(h_get_history) H(h_get_dialogs) H(h_search_messages)
H(h_view_messages)
/* sync */
H(h_get_state) H(h_get_difference) H(h_get_chat_difference) H(h_get_updates) H(h_send_chat_action) H(h_set_privacy)
/* trust & safety (h_safety.c) */
H(h_report_content) H(h_submit_notice_prep) H(h_submit_notice) H(h_get_notice) H(h_get_statement)
H(h_appeal_decision) H(h_get_chat_reports) H(h_get_queue) H(h_get_case) H(h_decide_case) H(h_export_statements)
H(h_get_appeals) H(h_decide_appeal) H(h_grant_role) H(h_revoke_role) H(h_get_roles) H(h_register_flagger)
H(h_get_flaggers)
/* media (h_media.c) */
H(h_send_media_prep) H(h_send_media) H(h_get_file) H(h_upload)
#undef H

/* Resolves chat parameter i of call (numeric id or @name) with core_chat_resolve. */
int h_chat_arg(struct api_call *call, int i, int create, int need, struct core_access *a);

#endif
