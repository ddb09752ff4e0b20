/* SPDX-License-Identifier: MIT */
/* proc/PID/maps and numa_maps read a piece at a time (numa.h), so that no
 * caller holds the loop while the kernel walks a process's mappings. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/numa.h"
#include "lib/util.h"

static int piece_open(int procfd, pid_t pid, const char *file, NumaPieceReader *ret) {
        char path[64];
        int fd;

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof path, "%d/%s", (int) pid, file);
        fd = dirfd_openat(procfd, path, O_RDONLY | O_NOCTTY);
        if (fd < 0) {
                /* The process directory gone is the process gone (procfs.h). */
                snprintf(path, sizeof path, "%d", (int) pid);
                return fd == -ENOENT && dirfd_exists(procfd, path) < 0 ? -ESRCH : fd;
        }
        *ret = (NumaPieceReader){.fd = fd};
        return 0;
}

static void piece_done(NumaPieceReader *r) {
        if (r->fd >= 0)
                close(r->fd);
        free(r->part);
        *r = NUMA_PIECE_READER_INIT;
}

/* The next piece's whole lines (at the end, whatever is left too) into
 * *ret_buf (malloc'd, *ret_len bytes); *ret_end at the end of the file. */
static int piece_next(NumaPieceReader *r, char **ret_buf, size_t *ret_len, bool *ret_end) {
        _cleanup_(freep) char *buf = NULL;
        ssize_t k;

        if (r->fd < 0)
                return -EBADF;
        buf = malloc(r->part_len + NUMA_PIECE + 1);
        if (!buf)
                return -ENOMEM;
        if (r->part_len)
                memcpy(buf, r->part, r->part_len);
        /* proc gives a few KiB of lines per read(): read until the piece is
         * full or the file ends (k == 0 then). */
        size_t got = 0;
        do {
                k = read(r->fd, buf + r->part_len + got, NUMA_PIECE - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                got += (size_t) k;
        } while (k != 0 && got < NUMA_PIECE);
        size_t len = r->part_len + got;
        const char *nl = k > 0 ? memrchr(buf, '\n', len) : NULL;
        size_t whole = k == 0 ? len : nl ? (size_t) (nl - buf) + 1 : 0;
        free(r->part);
        r->part = NULL;
        r->part_len = len - whole;
        if (r->part_len > NUMA_LINE_MAX)
                return -EBADMSG;
        if (r->part_len) {
                r->part = malloc(r->part_len);
                if (!r->part)
                        return -ENOMEM;
                memcpy(r->part, buf + whole, r->part_len);
        }
        buf[whole] = 0;
        *ret_buf = TAKE_PTR(buf);
        *ret_len = whole;
        *ret_end = k == 0;
        return 0;
}

int numa_range_reader_open(int procfd, pid_t pid, NumaRangeReader *ret) {
        return piece_open(procfd, pid, "maps", ret);
}

void numa_range_reader_done(NumaRangeReader *r) {
        piece_done(r);
}

int numa_range_reader_next(NumaRangeReader *r, NumaRange **ret, size_t *ret_n) {
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, n = 0;
        bool end = false;
        NumaRange *v = NULL;
        int k = piece_next(r, &buf, &len, &end);

        if (k < 0)
                return k;
        k = numa_parse_ranges_buf(buf, len, &v, &n);
        if (k < 0)
                return k;
        free(*ret);
        *ret = v;
        *ret_n = n;
        if (end) {
                piece_done(r);
                return 0;
        }
        return 1;
}

int numa_read_ranges(int procfd, pid_t pid, NumaRange **ret, size_t *ret_n) {
        _cleanup_(freep) NumaRange *all = NULL;
        NumaRange *piece = NULL;
        size_t n = 0, n_piece = 0;
        NumaRangeReader rd;
        int r = numa_range_reader_open(procfd, pid, &rd);

        if (r < 0)
                return r;
        do {
                r = numa_range_reader_next(&rd, &piece, &n_piece);
                if (r >= 0 && n_piece) {
                        NumaRange *nv = realloc(all, (n + n_piece) * sizeof *nv);
                        if (!nv)
                                r = -ENOMEM;
                        else {
                                all = nv;
                                memcpy(all + n, piece, n_piece * sizeof *piece);
                                n += n_piece;
                        }
                }
        } while (r > 0);
        free(piece);
        numa_range_reader_done(&rd);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(all);
        *ret_n = n;
        return 0;
}

/* ---- numa_maps: where the memory is ---- */

int numa_usage_reader_open(int procfd, pid_t pid, NumaUsageReader *ret) {
        NumaPieceReader p;
        int r = piece_open(procfd, pid, "numa_maps", &p);

        if (r < 0)
                return r;
        *ret = (NumaUsageReader){.p = p};
        return 0;
}

void numa_usage_reader_done(NumaUsageReader *r) {
        piece_done(&r->p);
        numa_usage_done(&r->usage);
        *r = NUMA_USAGE_READER_INIT;
}

/* a += b, node by node. */
static int usage_add(NumaUsage *a, const NumaUsage *b) {
        if (b->n > a->n) {
                uint64_t *kb = realloc(a->kb, b->n * sizeof *kb);
                if (!kb)
                        return -ENOMEM;
                memset(kb + a->n, 0, (b->n - a->n) * sizeof *kb);
                a->kb = kb;
                a->n = b->n;
        }
        for (unsigned i = 0; i < b->n; i++)
                a->kb[i] += b->kb[i];
        a->total_kb += b->total_kb;
        a->anon_kb += b->anon_kb;
        a->file_kb += b->file_kb;
        a->huge_kb += b->huge_kb;
        return 0;
}

int numa_usage_reader_next(NumaUsageReader *r, NumaUsage *ret) {
        _cleanup_(freep) char *buf = NULL;
        _cleanup_(numa_maps_done) NumaMaps m = {0};
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        size_t len = 0;
        bool end = false;
        int k = piece_next(&r->p, &buf, &len, &end);

        if (k < 0)
                return k;
        /* A piece of garbage alone is no error: the whole file must hold a
         * numa_maps line (numa_parse_maps_buf's rule, over every piece). */
        r->any_line |= len > 0;
        k = numa_parse_maps_buf(buf, len, &m);
        if (k == -ENOMEM)
                return k;
        if (k >= 0) {
                r->n_vmas += m.n_vmas;
                if ((k = numa_usage(&m, &u)) < 0 || (k = usage_add(&r->usage, &u)) < 0)
                        return k;
        }
        if (!end)
                return 1;
        if (r->any_line && r->n_vmas == 0)
                return -EBADMSG;
        *ret = r->usage;
        r->usage = (NumaUsage){0};
        numa_usage_reader_done(r);
        return 0;
}
