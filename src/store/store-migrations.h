/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The numbered schema migrations, src/store/migrations/NNNN-name.sql, compiled into the
 * binary by tools/embed-migrations.py. They are applied in order, each once, each in one
 * transaction. Never edit a migration that has shipped: add the next number.
 */

#include <stddef.h>
#include <stdint.h>

struct store_migration {
	int64_t version;
	const char *name;
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;
