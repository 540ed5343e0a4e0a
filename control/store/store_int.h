/*
 * Internals shared by the files of control/store: whole-file I/O and the
 * libconfig text writer.  Not for use outside control/store/.
 */
#ifndef CORDON_STORE_INT_H
#define CORDON_STORE_INT_H

#include <stddef.h>

#include <libconfig.h>

#define STORE_TMP_SUFFIX ".tmp"

/* Writes all LEN bytes of P to FD, retrying short writes. 0 or -1. */
int store_write_all(int fd, const char *p, size_t len);
/* PATH's contents, malloc'd, NUL-terminated (not counted in *LEN). */
int store_file_read(const char *path, char **buf, size_t *len);
/* fsync of the folder that holds PATH. */
int store_dir_sync(const char *path);

/* CFG as text (config_write), malloc'd and NUL-terminated. */
int store_config_text(const config_t *cfg, char **out, size_t *len);

/*
 * cand_copy.c: adds a deep copy of S (a scalar, group, list or array)
 * under PARENT, with S's name when PARENT is a group.  0 or -1.
 */
#include <libconfig.h>
int cand_setting_copy(config_setting_t *parent, const config_setting_t *s);

#endif
