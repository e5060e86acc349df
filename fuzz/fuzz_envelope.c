/*
 * fuzz_envelope.c — libFuzzer target for the WebSocket envelope reader
 * (src/api/envelope.c), differential: every input is read by the reader
 * and by jansson (json_loadb with JSON_REJECT_DUPLICATES, what server.c
 * falls back to), and whenever the reader takes a frame, everything the
 * server takes from it must be the same from both — the id's JSON text,
 * the method, params, the auth token, and for every method the decoded
 * parameters or the error code, detail and reply (fuzz/envelope_diff.h,
 * shared with tests/unit/test_envelope.c).  A disagreement aborts.
 * Seed corpus: fuzz/corpus/envelope/ (one frame per file, as sent).
 *
 * The frame is copied into a buffer of exactly its length, with no
 * terminating NUL, so that the reader reading one byte too far is an
 * AddressSanitizer report.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512];
	char *frame = malloc(size ? size : 1);

	if (!frame)
		return 0;
	memcpy(frame, data, size);
	if (envdiff_check(frame, size, why, sizeof why) < 0)
		abort();
	free(frame);
	return 0;
}
