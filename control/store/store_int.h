/*
 * Internals shared by the files of control/store: whole-file I/O and the
 * libconfig text writer.  Not for use outside control/store/.
 */
#ifndef CORDON_STORE_INT_H
#define CORDON_STORE_INT_H

#include <stddef.h>

#include <libconfig.h>

#define STORE_TMP_SUFFIX ".tmp"

/*
 * Replaces PATH with LEN bytes of BUF: PATH.tmp, fsync, rename, fsync of
 * the folder.  On failure PATH is untouched and PATH.tmp removed.
 */
int store_file_write(const char *path, const void *buf, size_t len);
/* PATH's contents, malloc'd, NUL-terminated (not counted in *LEN). */
int store_file_read(const char *path, char **buf, size_t *len);
/* fsync of the folder that holds PATH. */
int store_dir_sync(const char *path);

/* CFG as text (config_write), malloc'd and NUL-terminated. */
int store_config_text(const config_t *cfg, char **out, size_t *len);

#endif
