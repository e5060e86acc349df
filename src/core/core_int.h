/*
 * core_int.h — what the files of src/core share beyond core.h (private to
 * src/core, as SQLite's *Int.h headers are).
 */
#ifndef PL_CORE_CORE_INT_H
#define PL_CORE_CORE_INT_H

#include "core/core.h"

/* messages.c: the steps every new message goes through. */
/* Refuses writing to peer in a private chat if either blocked the other
 * (USER_BLOCKED); 0 if neither did, or peer is the caller. */
int core_block_check(struct core_tx *tx, int64_t peer);
/* Refuses posting where the chat (rights, channel) or a block forbids it. */
int core_post_check(struct core_tx *tx, struct core_access *a);
/* Runs the message check chain over text about to be committed. */
int core_text_safety(struct core_tx *tx, struct core_access *a, const char *text);
/* Stores m in a's chat (m->id set), advances the chat and records the event. */
int core_message_append(struct core_tx *tx, struct core_access *a, struct store_message *m);

#endif
