/* The bad-input table: one row per input, printed with aligned columns. */
#include "table.h"

#include <stdarg.h>
#include <string.h>

enum { COL_COMPONENT, COL_INPUT, COL_DOCUMENTED, COL_OBSERVED, COL_MATCH, COL_NEXT, N_COLS };

static const char *const table_headers[N_COLS] = {
	"component", "input", "documented", "observed", "match", "next good request",
};

void cell_printf(char *cell, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cell, size, fmt, ap);
	va_end(ap);
}

struct table_row *table_add(struct table *t, const char *component, const char *input)
{
	if (t->n_rows == TABLE_MAX_ROWS)
		return NULL;
	struct table_row *row = &t->rows[t->n_rows++];
	memset(row, 0, sizeof(*row));
	snprintf(row->component, sizeof(row->component), "%s", component);
	snprintf(row->input, sizeof(row->input), "%s", input);
	return row;
}

static void table_cells(const struct table_row *row, const char *cells[N_COLS])
{
	cells[COL_COMPONENT] = row->component;
	cells[COL_INPUT] = row->input;
	cells[COL_DOCUMENTED] = row->documented;
	cells[COL_OBSERVED] = row->observed;
	cells[COL_MATCH] = row->matched ? "yes" : "NO";
	cells[COL_NEXT] = row->next;
}

static void table_line(FILE *out, const char *const cells[N_COLS], const size_t widths[N_COLS])
{
	for (int c = 0; c + 1 < N_COLS; c++)
		fprintf(out, "%-*s | ", (int)widths[c], cells[c]);
	fprintf(out, "%s\n", cells[N_COLS - 1]);
}

void table_print(const struct table *t, FILE *out)
{
	size_t widths[N_COLS];
	const char *cells[N_COLS];
	for (int c = 0; c < N_COLS; c++)
		widths[c] = strlen(table_headers[c]);
	for (size_t r = 0; r < t->n_rows; r++) {
		table_cells(&t->rows[r], cells);
		for (int c = 0; c < N_COLS; c++)
			widths[c] = strlen(cells[c]) > widths[c] ? strlen(cells[c]) : widths[c];
	}
	table_line(out, table_headers, widths);
	for (int c = 0; c < N_COLS; c++) {
		for (size_t i = 0; i < widths[c]; i++)
			fputc('-', out);
		fputs(c + 1 < N_COLS ? "-+-" : "\n", out);
	}
	for (size_t r = 0; r < t->n_rows; r++) {
		table_cells(&t->rows[r], cells);
		table_line(out, cells, widths);
	}
}

size_t table_print_failures(const struct table *t, FILE *out)
{
	size_t n = 0;
	for (size_t r = 0; r < t->n_rows; r++) {
		const struct table_row *row = &t->rows[r];
		if (row->matched && row->served)
			continue;
		fprintf(out, "FAILED: %s, %s: documented %s, observed %s; next good request: %s\n",
		        row->component, row->input, row->documented, row->observed, row->next);
		n++;
	}
	return n;
}
