/* Answers of recent calls by call id, so a re-sent call never runs twice. */
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

#define DEDUP_MAX_DONE 256
#define DEDUP_MAX_BYTES (16u * 1024u * 1024u)
#define DEDUP_TTL_MS (10u * 60u * 1000u)

static struct dedup_entry **dedup_slot(struct dedup *d, uint64_t id)
{
	struct dedup_entry **pp = &d->buckets[(id ^ (id >> 29)) % DEDUP_BUCKETS];
	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->next_in_bucket;
	return pp;
}

static void dedup_remove(struct dedup *d, struct dedup_entry *e)
{
	struct dedup_entry **pp = dedup_slot(d, e->id);
	*pp = e->next_in_bucket;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		d->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		d->oldest = e->newer;
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
	struct dedup_entry *e = d->oldest;
	while (e != NULL) {
		struct dedup_entry *newer = e->newer;
		bool over = d->n_done > DEDUP_MAX_DONE || d->bytes > DEDUP_MAX_BYTES;
		if (e->done && (over || now - e->finished_at > DEDUP_TTL_MS))
			dedup_remove(d, e);
		else if (!over)
			break; /* newer entries are younger still */
		e = newer;
	}
}

enum dedup_state tbi_dedup_begin(struct dedup *d, uint64_t id)
{
	struct dedup_entry **pp = dedup_slot(d, id);
	if (*pp != NULL)
		return (*pp)->done ? DEDUP_DONE : DEDUP_RUNNING;
	struct dedup_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return DEDUP_NEW; /* without memory the call still runs, just unguarded */
	e->id = id;
	*pp = e;
	e->older = d->newest;
	if (d->newest != NULL)
		d->newest->newer = e;
	d->newest = e;
	if (d->oldest == NULL)
		d->oldest = e;
	return DEDUP_NEW;
}

void tbi_dedup_finish(struct dedup *d, uint64_t id, const uint8_t *answer, size_t len,
                      uint64_t now)
{
	struct dedup_entry *e = *dedup_slot(d, id);
	if (e == NULL)
		return;
	e->answer = malloc(len ? len : 1);
	if (e->answer == NULL) {
		dedup_remove(d, e);
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
	struct dedup_entry *e = *dedup_slot(d, id);
	if (e != NULL)
		dedup_remove(d, e);
}

const uint8_t *tbi_dedup_answer(struct dedup *d, uint64_t id, size_t *lenp, bool *knownp)
{
	struct dedup_entry *e = *dedup_slot(d, id);
	*knownp = e != NULL;
	if (e == NULL || !e->done)
		return NULL;
	*lenp = e->len;
	return e->answer;
}

void tbi_dedup_fini(struct dedup *d)
{
	while (d->oldest != NULL)
		dedup_remove(d, d->oldest);
}
