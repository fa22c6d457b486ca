/* The bad-input table: one row per input, printed with aligned columns. */
#ifndef TESTBUS_TEST_BADINPUT_TABLE_H
#define TESTBUS_TEST_BADINPUT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TABLE_MAX_ROWS 96

struct table_row {
	char component[40];  /* which process, over which transport */
	char input[72];      /* the bad input */
	char documented[72]; /* the status or refusal docs/protocol.md gives */
	char observed[120];  /* what came back */
	bool matched;        /* observed is the documented one */
	char next[72];       /* the good request after it */
	bool served;         /* the good request succeeded */
};

struct table {
	struct table_row rows[TABLE_MAX_ROWS];
	size_t n_rows;
};

/* printf into a cell or message buffer, cut to fit on purpose: the table is read by people. */
void cell_printf(char *cell, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A fresh row at the end of t with its component and input set; NULL when full. */
struct table_row *table_add(struct table *t, const char *component, const char *input);

/* Prints every row with aligned columns. */
void table_print(const struct table *t, FILE *out);

/* Prints the rows that failed (a mismatch or a good request not served); returns how many. */
size_t table_print_failures(const struct table *t, FILE *out);

#endif
