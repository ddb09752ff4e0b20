/* SPDX-License-Identifier: MIT */
/* The logger's sinks: journald's native protocol on a fake journal socket
 * (bytes exact, MESSAGE escaped), a journald that stalls or goes away and
 * comes back, a stderr whose reader is gone, and records written after the
 * event handler that logged them. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "lib/log.h"

typedef struct FakeJournal {
        char dir[64];
        char path[96];
        int fd;
} FakeJournal;

static void fake_bind(FakeJournal *j) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(j->fd, 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", j->path);
        ck_assert_int_eq(bind(j->fd, (struct sockaddr *) &sa, sizeof sa), 0);
}

static void fake_start(FakeJournal *j) {
        snprintf(j->dir, sizeof j->dir, "/tmp/pinnerd-logsink-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(j->dir));
        snprintf(j->path, sizeof j->path, "%s/socket", j->dir);
        fake_bind(j);
}

/* Journald going away: its socket file and the socket itself. */
static void fake_stop(FakeJournal *j) {
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
        unlink(j->path);
}

static void fake_done(FakeJournal *j) {
        fake_stop(j);
        rmdir(j->dir);
}

/* What a stderr file of ours holds so far (malloc'd, NUL-terminated). */
static char *file_text(FILE *f) {
        struct stat st;
        ck_assert_int_eq(fstat(fileno(f), &st), 0);
        char *buf = calloc(1, (size_t) st.st_size + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pread(fileno(f), buf, (size_t) st.st_size, 0), st.st_size);
        return buf;
}

/* The next datagram, or -1 when none is waiting. */
static ssize_t fake_recv(FakeJournal *j, char *buf, size_t size) {
        ssize_t n = recv(j->fd, buf, size - 1, MSG_DONTWAIT);
        if (n >= 0)
                buf[n] = '\0';
        return n;
}

/* The value of KEY in a native-protocol record, both forms. */
static ssize_t field(const char *rec, size_t n, const char *key, char *out, size_t size) {
        size_t kl = strlen(key);
        for (size_t i = 0; i < n;) {
                const char *line = rec + i;
                if (n - i > kl && memcmp(line, key, kl) == 0 && line[kl] == '=') {
                        const char *nl = memchr(line + kl + 1, '\n', n - i - kl - 1);
                        size_t vl = (size_t) (nl - line - kl - 1);
                        ck_assert_uint_lt(vl, size);
                        memcpy(out, line + kl + 1, vl);
                        return (ssize_t) vl;
                }
                if (n - i > kl + 9 && memcmp(line, key, kl) == 0 && line[kl] == '\n') {
                        uint64_t vl = 0;
                        for (int b = 0; b < 8; b++)
                                vl |= (uint64_t) (unsigned char) line[kl + 1 + b] << (8 * b);
                        ck_assert_uint_lt(vl, size);
                        memcpy(out, line + kl + 9, vl);
                        return (ssize_t) vl;
                }
                /* Skip this field. */
                const char *eq = memchr(line, '=', n - i), *nl = memchr(line, '\n', n - i);
                ck_assert_ptr_nonnull(nl);
                if (eq && eq < nl)
                        i += (size_t) (nl - line) + 1;
                else {
                        uint64_t vl = 0;
                        for (int b = 0; b < 8; b++)
                                vl |= (uint64_t) (unsigned char) nl[1 + b] << (8 * b);
                        i += (size_t) (nl - line) + 1 + 8 + vl + 1;
                }
        }
        return -1;
}

static void journal_logger(Logger *l, FakeJournal *j) {
        log_setup(l, LOG_TARGET_JOURNAL, LOG_DEBUG);
        l->journal_path = j->path;
}

START_TEST(test_native_record) {
        FakeJournal j;
        Logger l;
        char rec[8192], v[1024];
        ssize_t n, k;

        fake_start(&j);
        journal_logger(&l, &j);
        LogFields f = {.rule = "r", .pid = 42, .tid = 43, .comm = "a\nb\xff", .thread = "x\\y", .cpus = "1"};
        log_event(&l, EV_APPLIED, LOG_INFO, &f, "pinned %s", f.comm);
        n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);

        /* MESSAGE: one line, valid UTF-8, the name escaped once. */
        k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        ck_assert_int_gt(k, 0);
        v[k] = '\0';
        ck_assert_str_eq(v, "pinned a\\nb\\xff");
        /* PINNERD_COMM: the exact bytes, newline and all (binary form). */
        k = field(rec, (size_t) n, "PINNERD_COMM", v, sizeof v);
        ck_assert_int_eq(k, 4);
        ck_assert(memcmp(v, "a\nb\xff", 4) == 0);
        k = field(rec, (size_t) n, "PINNERD_THREAD", v, sizeof v);
        ck_assert_int_eq(k, 3);
        ck_assert(memcmp(v, "x\\y", 3) == 0);
        k = field(rec, (size_t) n, "PINNERD_EVENT", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v, "applied");
        k = field(rec, (size_t) n, "SYSLOG_IDENTIFIER", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v, "pinnerd");
        k = field(rec, (size_t) n, "PINNERD_TID", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v, "43");
        ck_assert_int_eq(field(rec, (size_t) n, "PINNERD_REASON", v, sizeof v), -1);
        ck_assert_uint_eq(log_lost_total(&l), 0);
        log_done(&l);
        fake_done(&j);
}
END_TEST

/* A journald that reads nothing: every call returns at once, the queue
 * stays bounded, the overflow is counted; once it reads again the queued
 * records flow and one records-lost record says how many were dropped. */
START_TEST(test_stalled_journal) {
        FakeJournal j;
        Logger l;
        char rec[8192], v[1024];
        const unsigned total = LOG_QUEUE_MAX_RECORDS + 3000;
        unsigned got = 0, lost_records = 0;
        ssize_t n;

        fake_start(&j);
        journal_logger(&l, &j);
        for (unsigned i = 0; i < total; i++)
                log_msg(&l, LOG_INFO, "record %u", i);
        ck_assert_uint_le(l.queued, LOG_QUEUE_MAX_RECORDS);
        ck_assert_uint_gt(log_lost_total(&l), 0);
        uint64_t dropped = log_lost_total(&l);
        ck_assert_uint_eq(dropped, l.lost_full);

        /* journald reads again. */
        for (int round = 0; round < 100000 && (l.queued > 0 || round == 0); round++) {
                while ((n = fake_recv(&j, rec, sizeof rec)) > 0) {
                        ssize_t k = field(rec, (size_t) n, "PINNERD_EVENT", v, sizeof v);
                        if (k > 0 && (v[k] = '\0', strcmp(v, "records-lost") == 0)) {
                                lost_records++;
                                k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
                                v[k] = '\0';
                                char want[64];
                                snprintf(want, sizeof want, "%llu log records lost",
                                         (unsigned long long) dropped);
                                ck_assert_msg(strstr(v, want), "summary says: %s", v);
                        } else
                                got++;
                }
                log_flush(&l);
        }
        while ((n = fake_recv(&j, rec, sizeof rec)) > 0) {
                ssize_t k = field(rec, (size_t) n, "PINNERD_EVENT", v, sizeof v);
                if (k > 0 && (v[k] = '\0', strcmp(v, "records-lost") == 0))
                        lost_records++;
                else
                        got++;
        }
        ck_assert_uint_eq(l.queued, 0);
        ck_assert_uint_eq(lost_records, 1);
        ck_assert_uint_eq(got + dropped, total);
        log_done(&l);
        fake_done(&j);
}
END_TEST

/* journald goes away (said once on stderr) and comes back at the same path:
 * meanwhile records go to stderr (the one that found it gone is lost, and
 * that is said there too); then records flow to the journal again, after
 * one record saying how many went to stderr. */
START_TEST(test_journal_gone_and_back) {
        FakeJournal j;
        Logger l;
        char rec[8192], v[1024], *err = NULL;
        FILE *ef = tmpfile();
        ssize_t n, k;

        fake_start(&j);
        journal_logger(&l, &j);
        log_set_stderr_fd(&l, fileno(ef));
        log_msg(&l, LOG_INFO, "before");
        ck_assert_int_gt(fake_recv(&j, rec, sizeof rec), 0);

        fake_stop(&j);
        for (int i = 0; i < 5; i++)
                log_msg(&l, LOG_INFO, "while gone %d", i);
        /* The record that found journald gone is lost; the rest go to
         * stderr, after one line saying so. */
        ck_assert_uint_eq(log_lost_total(&l), 1);
        err = file_text(ef);
        ck_assert_ptr_nonnull(strstr(err, "journald is not reachable"));
        ck_assert_ptr_nonnull(strstr(err, "records go to stderr until it is back"));
        ck_assert_ptr_null(strstr(strstr(err, "journald is not reachable") + 1, "journald is not reachable"));
        for (int i = 1; i < 5; i++) {
                char line[64];
                snprintf(line, sizeof line, "pinnerd: info: while gone %d\n", i);
                ck_assert_msg(strstr(err, line), "no '%s' in: %s", line, err);
        }

        fake_bind(&j);
        usleep(LOG_RECONNECT_USEC + 50000);
        log_msg(&l, LOG_INFO, "after");
        n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);
        k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v, "after");
        n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);
        k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v, "journald is reachable again; 4 records went to stderr meanwhile");
        /* The one record lost was said where records went then: stderr. */
        ck_assert_int_lt(fake_recv(&j, rec, sizeof rec), 0);
        free(err);
        err = file_text(ef);
        ck_assert_msg(strstr(err, "1 log records lost (journald unreachable 1)"), "%s", err);
        ck_assert_ptr_nonnull(strstr(err, "[event=records-lost]"));
        log_done(&l);
        fclose(ef);
        free(err);
        fake_done(&j);
}
END_TEST

/* stderr into a pipe whose reader exited: no SIGPIPE death (ignored, as
 * main() does), the records are counted, and with a journal socket there
 * the logger moves to it and says why. */
START_TEST(test_stderr_reader_gone) {
        FakeJournal j;
        Logger l;
        char rec[8192], v[1024];
        int p[2];

        signal(SIGPIPE, SIG_IGN);
        fake_start(&j);
        ck_assert_int_eq(pipe(p), 0);
        close(p[0]);
        log_setup(&l, LOG_TARGET_STDERR, LOG_DEBUG);
        l.journal_path = j.path;
        log_set_stderr_fd(&l, p[1]);
        log_msg(&l, LOG_INFO, "first");
        ck_assert(l.err_broken);
        ck_assert_int_eq(l.target, LOG_TARGET_JOURNAL);
        ssize_t n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);
        ssize_t k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        v[k] = '\0';
        ck_assert_msg(strstr(v, "stderr failed (Broken pipe)"), "%s", v);
        log_msg(&l, LOG_INFO, "second");
        n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);
        k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v, "second");
        log_done(&l);
        close(p[1]);
        fake_done(&j);
}
END_TEST

/* Without a journal to fall back to, records are dropped and counted. */
START_TEST(test_stderr_reader_gone_no_journal) {
        Logger l;
        int p[2];

        signal(SIGPIPE, SIG_IGN);
        ck_assert_int_eq(pipe(p), 0);
        close(p[0]);
        log_setup(&l, LOG_TARGET_STDERR, LOG_DEBUG);
        l.journal_path = "/nonexistent/pinnerd-journal";
        log_set_stderr_fd(&l, p[1]);
        for (int i = 0; i < 3; i++)
                log_msg(&l, LOG_INFO, "line %d", i);
        ck_assert(l.err_broken);
        ck_assert_int_eq(l.target, LOG_TARGET_STDERR);
        ck_assert_uint_eq(log_lost_total(&l), 3);
        log_done(&l);
        close(p[1]);
}
END_TEST

/* A reader that stops reading (a terminal paused with Ctrl-S, a full pipe)
 * never blocks the logger: stderr is a blocking pipe nobody reads, and 6,000
 * records of ~600 bytes (3.6 MB, far past the pipe's 64 KiB) are logged at
 * once; Check's timeout fails the test if a write waits. Records past the
 * bounded queue are counted, none is cut, and once the reader reads again
 * the queue drains as whole lines, with a records-lost line. The pipe
 * itself stays blocking: the logger writes through a descriptor of its own. */
START_TEST(test_stderr_reader_stalls) {
        Logger l;
        sd_event *e = NULL;
        int p[2];
        char pad[512];

        memset(pad, 'x', sizeof pad - 1);
        pad[sizeof pad - 1] = 0;
        ck_assert_int_eq(pipe(p), 0);
        log_setup(&l, LOG_TARGET_STDERR, LOG_DEBUG);
        l.journal_path = "/nonexistent/pinnerd-journal";
        log_set_stderr_fd(&l, p[1]);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(log_attach_event(&l, e), 0);
        for (int i = 0; i < 6000; i++)
                log_msg(&l, LOG_INFO, "record %d %s", i, pad);
        ck_assert_uint_gt(log_lost_total(&l), 0);
        ck_assert_int_eq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
        /* Read everything the logger can write while the loop runs. */
        ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
        size_t cap = 8 << 20, got = 0;
        char *buf = malloc(cap);
        ck_assert_ptr_nonnull(buf);
        for (int idle = 0; idle < 50;) {
                ssize_t n = read(p[0], buf + got, cap - got - 1);
                if (n > 0) {
                        got += (size_t) n;
                        idle = 0;
                } else
                        idle++;
                ck_assert_int_ge(sd_event_run(e, 1000), 0);
        }
        buf[got] = 0;
        /* Whole lines only, in order, then what was lost said. */
        size_t lines = 0;
        int last = -1;
        bool said = false;
        for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
                *nl = 0;
                int k;
                if (sscanf(line, "pinnerd: info: record %d ", &k) == 1) {
                        ck_assert_int_gt(k, last);
                        ck_assert_msg(strlen(line) > sizeof pad, "a cut line: %.80s", line);
                        last = k;
                        lines++;
                } else {
                        ck_assert_msg(strstr(line, "log records lost"), "unexpected line: %.120s", line);
                        said |= strstr(line, "log records lost (queue full while the sink was busy") != NULL;
                }
        }
        ck_assert_uint_gt(lines, 1000);
        ck_assert_uint_eq(lines + log_lost_total(&l), 6000);
        ck_assert(said);
        free(buf);
        log_done(&l);
        sd_event_unref(e);
        close(p[0]);
        close(p[1]);
}
END_TEST

/* --log-target journal where no journald runs: nothing is lost, every
 * record goes to stderr after one line saying why. */
START_TEST(test_journal_absent_falls_back_to_stderr) {
        Logger l;
        char *err;
        FILE *ef = tmpfile();
        LogFields f = {.rule = "r", .pid = 5, .tid = 6, .comm = "c", .thread = "t"};

        log_setup(&l, LOG_TARGET_JOURNAL, LOG_DEBUG);
        l.journal_path = "/nonexistent/pinnerd-journal";
        log_set_stderr_fd(&l, fileno(ef));
        for (int i = 0; i < 3; i++)
                log_msg(&l, LOG_INFO, "line %d", i);
        log_event(&l, EV_APPLIED, LOG_INFO, &f, "pinned");
        ck_assert_uint_eq(log_lost_total(&l), 0);
        ck_assert_int_eq(l.target, LOG_TARGET_JOURNAL);
        err = file_text(ef);
        const char *said = strstr(err, "journald is not reachable at /nonexistent/pinnerd-journal");
        ck_assert_msg(said, "%s", err);
        ck_assert_ptr_null(strstr(said + 1, "journald is not reachable"));
        ck_assert_ptr_nonnull(strstr(err, "pinnerd: info: line 0\n"));
        ck_assert_ptr_nonnull(strstr(err, "pinnerd: info: line 2\n"));
        ck_assert_ptr_nonnull(strstr(err, "pinned [event=applied rule=r pid=5 tid=6 comm=c thread=t]"));
        log_done(&l);
        fclose(ef);
        free(err);
}
END_TEST

typedef struct HandlerCheck {
        Logger *l;
        FakeJournal *j;
        ssize_t seen_inside;
} HandlerCheck;

static int on_defer(sd_event_source *s, void *userdata) {
        HandlerCheck *c = userdata;
        char rec[8192];
        LogFields f = {.pid = 7, .tid = 7, .comm = "w"};

        log_event(c->l, EV_APPLIED, LOG_INFO, &f, "inside the handler");
        /* Nothing written yet: the handler's own work comes first. */
        c->seen_inside = fake_recv(c->j, rec, sizeof rec);
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

START_TEST(test_written_after_handler) {
        FakeJournal j;
        Logger l;
        sd_event *e = NULL;
        HandlerCheck c = {.l = &l, .j = &j};
        char rec[8192], v[256];

        fake_start(&j);
        journal_logger(&l, &j);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(log_attach_event(&l, e), 0);
        ck_assert_int_ge(sd_event_add_defer(e, NULL, on_defer, &c), 0);
        /* One iteration runs the handler, the next the logger's post source. */
        for (int i = 0; i < 3; i++)
                ck_assert_int_ge(sd_event_run(e, 0), 0);
        ck_assert_int_eq(c.seen_inside, -1);
        ssize_t n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);
        ssize_t k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v, "inside the handler");
        log_done(&l);
        sd_event_unref(e);
        fake_done(&j);
}
END_TEST

/* Already escaped text is escaped once; raw text once too. */
START_TEST(test_escaped_once) {
        Logger l;
        char *buf = NULL;

        FILE *ef = tmpfile();
        log_setup(&l, LOG_TARGET_STDERR, LOG_DEBUG);
        log_set_stderr_fd(&l, fileno(ef));
        log_msg_escaped(&l, LOG_ERR, "a.conf:3: comm 'it\\'s'\nforged");
        log_msg(&l, LOG_ERR, "raw %s", "it\\'s");
        LogFields f = {.reason = "a.conf:3: cpus 'it\\'s'", .reason_escaped = true};
        log_event(&l, EV_RELOAD_FAILED, LOG_ERR, &f, "reload rejected");
        buf = file_text(ef);
        ck_assert_str_eq(buf, "pinnerd: err: a.conf:3: comm 'it\\'s'\\nforged\n"
                              "pinnerd: err: raw it\\\\'s\n"
                              "pinnerd: err: reload rejected [event=reload-failed reason=\"a.conf:3: cpus "
                              "'it\\'s'\"]\n");
        log_done(&l);
        fclose(ef);
        free(buf);
}
END_TEST

/* Hostile sizes and bytes: a 20 KB message of invalid bytes is cut whole
 * escapes at a time and still fits one datagram; a comm of every byte value
 * arrives exact. */
START_TEST(test_hostile_record) {
        FakeJournal j;
        Logger l;
        static char rec[65536], v[32768], big[20001], every[256];
        ssize_t n, k;

        fake_start(&j);
        journal_logger(&l, &j);
        memset(big, '\xff', sizeof big - 1);
        for (int i = 1; i < 256; i++)
                every[i - 1] = (char) i;
        LogFields f = {.tid = 9, .comm = every};
        log_event(&l, EV_SKIPPED, LOG_NOTICE, &f, "%s", big);
        n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);
        k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        ck_assert_int_gt(k, 0);
        v[k] = '\0';
        ck_assert_uint_le((size_t) k, LOG_MESSAGE_MAX + 3);
        ck_assert_str_eq(v + k - 3, "...");
        /* Whole \xff escapes only, nothing but printable ASCII. */
        ck_assert_uint_eq((size_t) (k - 3) % 4, 0);
        for (ssize_t i = 0; i < k; i++)
                ck_assert(v[i] >= 0x20 && v[i] < 0x7f);
        k = field(rec, (size_t) n, "PINNERD_COMM", v, sizeof v);
        ck_assert_int_eq(k, 255);
        ck_assert(memcmp(v, every, 255) == 0);

        /* Backslashes (two bytes each escaped), cut after an odd byte count:
         * never half an escape. */
        memset(big, '\\', sizeof big - 1);
        big[4097] = '\0';
        log_msg(&l, LOG_INFO, "x%s", big);
        n = fake_recv(&j, rec, sizeof rec);
        ck_assert_int_gt(n, 0);
        k = field(rec, (size_t) n, "MESSAGE", v, sizeof v);
        v[k] = '\0';
        ck_assert_str_eq(v + k - 3, "...");
        ck_assert_uint_eq((size_t) (k - 4) % 2, 0);
        ck_assert_uint_le((size_t) k, LOG_MESSAGE_MAX + 3);
        log_done(&l);
        fake_done(&j);
}
END_TEST

Suite *logsink_suite(void) {
        Suite *s = suite_create("logsink");
        TCase *tc = tcase_create("sinks");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_native_record);
        tcase_add_test(tc, test_stalled_journal);
        tcase_add_test(tc, test_journal_gone_and_back);
        tcase_add_test(tc, test_stderr_reader_gone);
        tcase_add_test(tc, test_stderr_reader_gone_no_journal);
        tcase_add_test(tc, test_journal_absent_falls_back_to_stderr);
        tcase_add_test(tc, test_stderr_reader_stalls);
        tcase_add_test(tc, test_written_after_handler);
        tcase_add_test(tc, test_escaped_once);
        tcase_add_test(tc, test_hostile_record);
        suite_add_tcase(s, tc);
        return s;
}
