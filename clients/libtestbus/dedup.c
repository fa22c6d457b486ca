/* Answers of recent calls by call id, so a re-sent call never runs twice. */
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

#define DEDUP_MAX_DONE 256
#define DEDUP_MAX_BYTES (16u * 1024u * 1024u)
#define DEDUP_TTL_MS (10u * 60u * 1000u)

static struct dedup_entry **dedup_find(struct dedup *d, uint64_t id)
{
	for (struct dedup_entry **pp = &d->head; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == id)
			return pp;
	}
	return NULL;
}

static void dedup_unlink(struct dedup *d, struct dedup_entry **pp)
{
	struct dedup_entry *e = *pp;
	*pp = e->next;
	if (e->done) {
		d->n_done--;
		d->bytes -= e->len;
	}
	free(e->answer);
	free(e);
}

/* Drops the oldest finished answers beyond the bounds or past their time. */
static void dedup_evict(struct dedup *d, uint64_t now)
{
	size_t kept_done = 0, kept_bytes = 0;
	struct dedup_entry **pp = &d->head;
	while (*pp != NULL) {
		struct dedup_entry *e = *pp;
		if (e->done && (kept_done >= DEDUP_MAX_DONE || kept_bytes + e->len > DEDUP_MAX_BYTES ||
		                now - e->finished_at > DEDUP_TTL_MS)) {
			dedup_unlink(d, pp);
			continue;
		}
		if (e->done) {
			kept_done++;
			kept_bytes += e->len;
		}
		pp = &e->next;
	}
}

enum dedup_state tbi_dedup_begin(struct dedup *d, uint64_t id)
{
	struct dedup_entry **pp = dedup_find(d, id);
	if (pp != NULL)
		return (*pp)->done ? DEDUP_DONE : DEDUP_RUNNING;
	struct dedup_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return DEDUP_NEW; /* without memory the call still runs, just unguarded */
	e->id = id;
	e->next = d->head;
	d->head = e;
	return DEDUP_NEW;
}

void tbi_dedup_finish(struct dedup *d, uint64_t id, const uint8_t *answer, size_t len,
                      uint64_t now)
{
	struct dedup_entry **pp = dedup_find(d, id);
	if (pp == NULL)
		return;
	struct dedup_entry *e = *pp;
	e->answer = malloc(len ? len : 1);
	if (e->answer == NULL) {
		dedup_unlink(d, pp);
		return;
	}
	memcpy(e->answer, answer, len);
	e->len = len;
	e->done = true;
	e->finished_at = now;
	d->n_done++;
	d->bytes += len;
	dedup_evict(d, now);
}

void tbi_dedup_forget(struct dedup *d, uint64_t id)
{
	struct dedup_entry **pp = dedup_find(d, id);
	if (pp != NULL)
		dedup_unlink(d, pp);
}

const uint8_t *tbi_dedup_answer(struct dedup *d, uint64_t id, size_t *lenp, bool *knownp)
{
	struct dedup_entry **pp = dedup_find(d, id);
	*knownp = pp != NULL;
	if (pp == NULL || !(*pp)->done)
		return NULL;
	*lenp = (*pp)->len;
	return (*pp)->answer;
}

void tbi_dedup_fini(struct dedup *d)
{
	while (d->head != NULL)
		dedup_unlink(d, &d->head);
}
