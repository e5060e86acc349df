/* blob.c — what every blob store backend shares (blob.h): the check of a
 * content address, and the wrappers that reach a temporary object's ops. */
#include "store/blob.h"

int blob_hex_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* The wrappers that find the ops from the temporary object. */
int blob_temp_write(struct blob_temp *t, const void *data, size_t len)
{
	return ((struct blob_temp_base *)t)->ops->temp_write(t, data, len);
}

int blob_temp_read(struct blob_temp *t, uint64_t off, void *buf, size_t len, size_t *got)
{
	return ((struct blob_temp_base *)t)->ops->temp_read(t, off, buf, len, got);
}

int blob_temp_finish(struct blob_temp *t, char hex[BLOB_HEX_SZ], uint64_t *size)
{
	return ((struct blob_temp_base *)t)->ops->temp_finish(t, hex, size);
}

int blob_temp_commit(struct blob_temp *t)
{
	return ((struct blob_temp_base *)t)->ops->temp_commit(t);
}

void blob_temp_discard(struct blob_temp *t)
{
	if (t != NULL)
		((struct blob_temp_base *)t)->ops->temp_discard(t);
}
