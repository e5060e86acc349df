/*
 * envelope.h — a small strict JSON reader for a WebSocket call's envelope,
 * {"id":N,"method":"sendMessage","params":{"chat_id":..,"text":".."}}
 * (docs/sync.md, "The WebSocket"; server.c, on_ws_message).
 *
 * It reads the frame once, into the id, the method and the params as a flat
 * list of key -> scalar, without building a JSON tree.  It takes only what
 * it can read exactly as jansson (json_loadb with JSON_REJECT_DUPLICATES)
 * reads it: anything else — a nested object or array in params or next to
 * them, a real number, an integer out of jansson's range, a string id with
 * escapes, too many keys, and every malformed frame — it declines, and the
 * caller parses the frame with jansson as before.  So a declined frame
 * costs one more pass but gets the very same answers and errors, and an
 * accepted one means: jansson would have accepted it, with these values.
 * (fuzz/fuzz_envelope.c and tests/unit/test_envelope.c check both.)
 *
 * Strict like jansson: whitespace is space, tab, CR and LF; no leading
 * zeros; strings reject raw control characters, invalid UTF-8 (overlong
 * forms, surrogates, above U+10FFFF), \u0000, lone or misordered
 * surrogate escapes; duplicate keys (compared unescaped) are refused at
 * the envelope level and inside params; nothing may follow the object but
 * whitespace.
 *
 * Ownership: strings are unescaped into e->arena (malloc'd by
 * envelope_parse, freed by envelope_release); every pointer in struct
 * envelope points into it.  The struct may be copied (moved) whole: the
 * copy then owns the arena and the original must not be released.
 */
#ifndef PL_API_ENVELOPE_H
#define PL_API_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

enum envelope_kind {
	ENVELOPE_ABSENT = 0, /* the key was not sent */
	ENVELOPE_NULL,
	ENVELOPE_BOOL,       /* i is 0 or 1 */
	ENVELOPE_INT,        /* i, in jansson's range (int64) */
	ENVELOPE_STR,        /* s, len: unescaped, valid UTF-8, NUL-terminated, no NUL inside */
};

struct envelope_value {
	int kind;            /* enum envelope_kind */
	int64_t i;
	const char *s;       /* in the arena */
	size_t len;
	int ascii;           /* ENVELOPE_STR: all ASCII, so len is its count of characters */
};

struct envelope_field {
	const char *key;     /* unescaped, NUL-terminated, in the arena */
	struct envelope_value v;
};

/* Keys a frame may have in params, and at its top level, before the
 * reader declines it. */
#define ENVELOPE_FIELDS_MAX 16

/* Room envelope_id_json needs in its buf (an integer id). */
#define ENVELOPE_ID_BUF 24

struct envelope {
	struct envelope_value id;      /* a string id keeps its token as sent, quotes included (it has no escapes) */
	struct envelope_value method;  /* the "method" value, any scalar kind */
	int has_params;                /* "params" was sent (an object: anything else is declined) */
	struct envelope_field params[ENVELOPE_FIELDS_MAX];
	size_t n;                      /* entries in params */
	char *arena;                   /* owned */
};

/* Reads text (len bytes, need not be NUL-terminated) into e.  Returns 0,
 * PL_DECLINED if the frame is for jansson (see above: e holds nothing to
 * release), or PL_NOMEM.  On 0 the caller releases e with envelope_release. */
int envelope_parse(struct envelope *e, const char *text, size_t len);

/* The params entry named key, or NULL. */
const struct envelope_value *envelope_param(const struct envelope *e, const char *key);

/* The id as JSON text, byte for byte what json_dumps(id, JSON_ENCODE_ANY)
 * writes ("null" for an absent id): a pointer to a literal, into the
 * arena, or into buf (an integer).  Sets *len. */
const char *envelope_id_json(const struct envelope_value *id, char buf[ENVELOPE_ID_BUF], size_t *len);

/* Moves *from into *to (to's old contents are not released): the same as
 * *to = *from, but copying only the params entries in use — to is often
 * memory not touched for a while (a job's), and the whole struct is 14
 * cache lines where a call's envelope fills 2 to 4.  from keeps nothing to
 * release. */
void envelope_move(struct envelope *to, struct envelope *from);

/* Frees the arena; e may be released twice. */
void envelope_release(struct envelope *e);

#endif
