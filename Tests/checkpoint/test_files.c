/*
 * test_files.c -- what swann_save and swann_load do with the file system
 * around a model file (issue #13, items 4, 5, 8 and 13).
 *
 * 1. Symbolic links: a save through a link (absolute, relative, a chain, a
 *    link in another folder) replaces the file it leads to and keeps the link;
 *    a dangling link gets the target it names created; a loop is SWANN_E_IO.
 * 2. Permissions: the new file keeps the old one's permission bits (0600,
 *    0640, read-only 0444), through a link too; a new file gets 0666 & ~umask.
 * 3. Things that are not regular files: a FIFO at the save or load path is
 *    SWANN_E_IO at once (each call runs in a child with alarm() as a guard, so
 *    a call that blocks is a FAIL, not a hung suite) and stays a FIFO;
 *    /dev/zero, /dev/null, a folder and a socket are refused with a message
 *    that says what they are.
 * 4. Long names: a last path component of 253 and 255 characters saves and loads.
 * 5. A shape mismatch on load names the shape found and the shape expected.
 */
#include "check.h"
#include "ckpt_util.h"
#include "specs.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#define MB 4

static const char *DIR_;
static swann_net *A, *B;  /* two nets with different parameters */

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", DIR_, name); }

/* 1 when the file at path loads and holds net's parameters. */
static int holds(const char *path, swann_net *net)
{
    swann_net *n = NULL;
    if (swann_load(path, MB, NULL, 0, &n) != SWANN_OK) return 0;
    int same = same_params(net, n);
    swann_destroy(n);
    return same;
}

static int is_link_to(const char *link, const char *target)
{
    char buf[1024];
    ssize_t k = readlink(link, buf, sizeof buf - 1);
    if (k < 0) return 0;
    buf[k] = 0;
    return strcmp(buf, target) == 0;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xFFFFu;
}

/* ---- 1. symbolic links ------------------------------------------------------ */

static void group_symlinks(void)
{
    char target[600], link[600], link2[600], other[600], p[700];
    path_in(target, sizeof target, "target.safetensors");
    CHECK_ST(swann_save(A, target), SWANN_OK, "save the target file");

    /* absolute link */
    path_in(link, sizeof link, "abs-link.safetensors");
    CHECK(symlink(target, link) == 0, "make an absolute link");
    CHECK_ST(swann_save(B, link), SWANN_OK, "save through an absolute link");
    CHECK(is_link_to(link, target), "absolute link: the link is still a link to the target");
    CHECK(holds(target, B), "absolute link: the target holds the new model");
    CHECK(holds(link, B), "absolute link: loading through the link gives the new model");
    CHECKF(tmp_leftovers(target, 0) == 0, "absolute link: no temporary file is left", "%d", tmp_leftovers(target, 0));

    /* relative link, and a chain of two */
    path_in(link, sizeof link, "rel-link.safetensors");
    CHECK(symlink("target.safetensors", link) == 0, "make a relative link");
    CHECK_ST(swann_save(A, link), SWANN_OK, "save through a relative link");
    CHECK(is_link_to(link, "target.safetensors"), "relative link: the link stays");
    CHECK(holds(target, A), "relative link: the target holds the new model");
    path_in(link2, sizeof link2, "chain.safetensors");
    CHECK(symlink("rel-link.safetensors", link2) == 0, "make a link to the link");
    CHECK_ST(swann_save(B, link2), SWANN_OK, "save through a chain of two links");
    CHECK(is_link_to(link2, "rel-link.safetensors") && is_link_to(link, "target.safetensors"),
          "chain: both links stay");
    CHECK(holds(target, B), "chain: the final target holds the new model");

    /* a relative link in another folder, pointing up and across: the temporary
     * file goes to the target's folder, none to the link's */
    path_in(other, sizeof other, "models");
    mkdir(other, 0755);
    path_in(p, sizeof p, "links");
    mkdir(p, 0755);
    path_in(p, sizeof p, "links/current.safetensors");
    CHECK(symlink("../models/m.safetensors", p) == 0, "make a link to ../models/m.safetensors");
    CHECK_ST(swann_save(A, p), SWANN_OK, "save through a link into another folder (the target is new)");
    path_in(target, sizeof target, "models/m.safetensors");
    CHECK(is_link_to(p, "../models/m.safetensors"), "link into another folder: the link stays");
    CHECK(holds(target, A), "link into another folder: ../models/m.safetensors was created with the model");
    CHECK_ST(swann_save(B, p), SWANN_OK, "save through it again (the target exists)");
    CHECK(holds(target, B), "... the target holds the newer model");
    CHECK(tmp_leftovers(p, 0) == 0 && tmp_leftovers(target, 0) == 0, "no temporary file in either folder");

    /* dangling link: the target it names is created, as a shell's > does */
    path_in(link, sizeof link, "dangling.safetensors");
    CHECK(symlink("created-by-save.safetensors", link) == 0, "make a dangling link");
    CHECK_ST(swann_save(A, link), SWANN_OK, "save through a dangling link");
    path_in(target, sizeof target, "created-by-save.safetensors");
    CHECK(is_link_to(link, "created-by-save.safetensors"), "dangling link: the link stays");
    CHECK(holds(target, A), "dangling link: the file it names now exists and holds the model");

    /* a dangling link into a missing folder, and a loop: SWANN_E_IO, nothing made */
    path_in(link, sizeof link, "dangling-far.safetensors");
    CHECK(symlink("no-such-folder/x.safetensors", link) == 0, "make a link into a missing folder");
    CHECK_ST(swann_save(A, link), SWANN_E_IO, "save through a link into a missing folder -> SWANN_E_IO");
    CHECKF(strstr(last_err(), "no-such-folder/x.safetensors") != NULL, "... the message names the link's target",
           "%s", last_err());
    CHECK(is_link_to(link, "no-such-folder/x.safetensors"), "... the link stays");
    path_in(link, sizeof link, "loop-a");
    path_in(link2, sizeof link2, "loop-b");
    CHECK(symlink("loop-b", link) == 0 && symlink("loop-a", link2) == 0, "make a loop of two links");
    CHECK_ST(swann_save(A, link), SWANN_E_IO, "save through a loop of links -> SWANN_E_IO");
    CHECKF(strstr(last_err(), "symbolic links") != NULL, "... the message says why", "%s", last_err());
    CHECK(is_link_to(link, "loop-b") && is_link_to(link2, "loop-a"), "... both links stay");
}

/* ---- 2. permissions ----------------------------------------------------------- */

static void group_permissions(void)
{
    char path[600], link[600], what[200];
    mode_t old_umask = umask(022);
    const unsigned modes[] = {0600, 0640, 0444, 0751};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        snprintf(path, sizeof path, "%s/mode-%o.safetensors", DIR_, modes[i]);
        CHECK_ST(swann_save(A, path), SWANN_OK, "save a file");
        CHECK(chmod(path, modes[i]) == 0, "chmod it");
        swann_status st = swann_save(B, path);
        snprintf(what, sizeof what, "save over a %04o file -> SWANN_OK", modes[i]);
        CHECKF(st == SWANN_OK, what, "%s: %s", st_name(st), last_err());
        snprintf(what, sizeof what, "the new file keeps mode %04o (umask 022)", modes[i]);
        CHECKF(mode_of(path) == modes[i], what, "mode %04o", mode_of(path));
        snprintf(what, sizeof what, "the %04o file holds the new model", modes[i]);
        CHECK(holds(path, B), what);
    }
    /* read-only file in a writable folder: rename replaces it (documented) */
    snprintf(path, sizeof path, "%s/mode-444.safetensors", DIR_);
    CHECK(holds(path, B), "a read-only (0444) file in a writable folder is replaced, and stays 0444");

    /* through a link: the target's bits are kept, the link is not touched */
    path_in(path, sizeof path, "private.safetensors");
    path_in(link, sizeof link, "private-link.safetensors");
    CHECK_ST(swann_save(A, path), SWANN_OK, "save a private file");
    CHECK(chmod(path, 0600) == 0 && symlink("private.safetensors", link) == 0, "chmod 0600, link to it");
    CHECK_ST(swann_save(B, link), SWANN_OK, "save through the link");
    CHECKF(mode_of(path) == 0600, "the target keeps 0600 when saved through a link", "mode %04o", mode_of(path));

    /* a new file: 0666 & ~umask, as open(2) makes it */
    path_in(path, sizeof path, "new-022.safetensors");
    CHECK_ST(swann_save(A, path), SWANN_OK, "save a new file with umask 022");
    CHECKF(mode_of(path) == 0644, "a new file gets 0644 with umask 022", "mode %04o", mode_of(path));
    umask(077);
    path_in(path, sizeof path, "new-077.safetensors");
    CHECK_ST(swann_save(A, path), SWANN_OK, "save a new file with umask 077");
    CHECKF(mode_of(path) == 0600, "a new file gets 0600 with umask 077", "mode %04o", mode_of(path));
    /* an existing 0644 file saved with umask 077 keeps 0644: the old file decides */
    path_in(path, sizeof path, "new-022.safetensors");
    CHECK_ST(swann_save(B, path), SWANN_OK, "save over the 0644 file with umask 077");
    CHECKF(mode_of(path) == 0644, "... it stays 0644", "mode %04o", mode_of(path));
    umask(old_umask);
}

/* ---- 3. FIFOs, devices, folders, sockets ------------------------------------------ */

enum call { SAVE, LOAD, LOAD_SIZE };
static const char *CALL_NAME[] = {"save", "load", "load_size"};

/* Runs the call in a child with a 5 s alarm; returns its status (99 when the
 * child did not end by itself: it blocked or crashed) and its message. */
static swann_status guarded(enum call c, const char *path, char *msg, size_t cap)
{
    int pfd[2];
    msg[0] = 0;
    if (pipe(pfd) != 0) return (swann_status)98;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        alarm(5);
        swann_net *n = NULL;
        size_t bytes = 0;
        swann_status st = c == SAVE ? swann_save(A, path)
                        : c == LOAD ? swann_load(path, MB, NULL, 0, &n)
                                    : swann_load_size(path, MB, &bytes);
        const char *e = swann_last_error();
        if (write(pfd[1], e, strlen(e)) < 0) _exit(97);
        _exit((int)st);
    }
    close(pfd[1]);
    ssize_t got = read(pfd[0], msg, cap - 1);
    msg[got > 0 ? got : 0] = 0;
    close(pfd[0]);
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (!WIFEXITED(ws)) {
        snprintf(msg, cap, "the call did not return: %s",
                 WIFSIGNALED(ws) && WTERMSIG(ws) == SIGALRM ? "blocked, killed after 5 s" : "crashed");
        return (swann_status)99;
    }
    return (swann_status)WEXITSTATUS(ws);
}

/* The call must be SWANN_E_IO with a one-line message holding `says`. */
static void expect_refused(enum call c, const char *path, const char *label, const char *says)
{
    char msg[600], what[300];
    swann_status st = guarded(c, path, msg, sizeof msg);
    snprintf(what, sizeof what, "%s of %s -> SWANN_E_IO at once, message says \"%s\"", CALL_NAME[c], label, says);
    CHECKF(st == SWANN_E_IO && strstr(msg, says) != NULL && !strchr(msg, '\n'), what, "got %s: %s",
           (int)st == 99 ? "no return" : st_name(st), msg);
}

static int is_fifo(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void group_special_files(void)
{
    char fifo[600], link[600], p[600];
    path_in(fifo, sizeof fifo, "model.fifo");
    CHECK(mkfifo(fifo, 0600) == 0, "make a FIFO");
    expect_refused(LOAD, fifo, "a FIFO", "is a FIFO, not a regular file");
    expect_refused(LOAD_SIZE, fifo, "a FIFO", "is a FIFO");
    expect_refused(SAVE, fifo, "a FIFO", "is a FIFO, not a regular file");
    CHECK(is_fifo(fifo), "the FIFO is still a FIFO after the refused save");
    CHECK(tmp_leftovers(fifo, 0) == 0, "the refused save leaves no temporary file");
    path_in(link, sizeof link, "fifo-link");
    CHECK(symlink("model.fifo", link) == 0, "link to the FIFO");
    expect_refused(SAVE, link, "a link to a FIFO", "model.fifo\" is a FIFO");
    expect_refused(LOAD, link, "a link to a FIFO", "is a FIFO");
    CHECK(is_fifo(fifo) && is_link_to(link, "model.fifo"), "the link and the FIFO stay");

    expect_refused(LOAD, "/dev/zero", "/dev/zero", "\"/dev/zero\" is a character device, not a regular file");
    expect_refused(LOAD_SIZE, "/dev/zero", "/dev/zero", "is a character device");
    expect_refused(LOAD, "/dev/null", "/dev/null", "\"/dev/null\" is a character device, not a regular file");
    /* a save is tried only through a link to /dev/null: with a library that
     * replaced what the path names, the link is what would be replaced */
    path_in(link, sizeof link, "null-link");
    CHECK(symlink("/dev/null", link) == 0, "link to /dev/null");
    expect_refused(SAVE, link, "a link to /dev/null", "\"/dev/null\" is a character device");
    CHECK(is_link_to(link, "/dev/null"), "the link to /dev/null stays");

    path_in(p, sizeof p, "a-folder");
    CHECK(mkdir(p, 0755) == 0, "make a folder");
    expect_refused(SAVE, p, "a folder", "is a folder, not a regular file");
    expect_refused(LOAD, p, "a folder", "is a folder, not a regular file");

    path_in(p, sizeof p, "model.sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fits = strlen(p) < sizeof addr.sun_path;
    if (fits) memcpy(addr.sun_path, p, strlen(p) + 1);
    if (s >= 0 && fits && bind(s, (struct sockaddr *)&addr, sizeof addr) == 0) {
        expect_refused(SAVE, p, "a socket", "is a socket, not a regular file");
        expect_refused(LOAD, p, "a socket", "is a socket, not a regular file");
    } else {
        printf("# no socket test: the folder's path is too long for a socket address\n");
    }
    if (s >= 0) close(s);
}

/* ---- 4. long names -------------------------------------------------------------- */

static void group_long_names(void)
{
    const size_t lengths[] = {200, 240, 253, 254, 255};
    char path[1200], what[200];
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        size_t n = lengths[i];
        int at = snprintf(path, sizeof path, "%s/", DIR_);
        memset(path + at, 'm', n - 12);
        memcpy(path + at + n - 12, ".safetensors", 13);
        swann_status st = swann_save(A, path);
        snprintf(what, sizeof what, "save to a %zu-character file name -> SWANN_OK", n);
        CHECKF(st == SWANN_OK, what, "%s: %s", st_name(st), last_err());
        snprintf(what, sizeof what, "the %zu-character name loads with the model", n);
        CHECK(holds(path, A), what);
        st = swann_save(B, path);
        snprintf(what, sizeof what, "save over the %zu-character name", n);
        CHECKF(st == SWANN_OK && holds(path, B), what, "%s: %s", st_name(st), last_err());
        CHECK(tmp_leftovers(path, 0) == 0, "no temporary file is left");
        unlink(path);
    }
    /* 256 characters is more than a name may have: a clear SWANN_E_IO */
    int at = snprintf(path, sizeof path, "%s/", DIR_);
    memset(path + at, 'm', 256);
    path[at + 256] = 0;
    CHECK_ST(swann_save(A, path), SWANN_E_IO, "save to a 256-character file name -> SWANN_E_IO");
    CHECKF(strstr(last_err(), "File name too long") != NULL, "... the message says the name is too long", "%s",
           last_err());
}

/* ---- 5. the shape message ---------------------------------------------------------- */

/* Saves SMALL_SPEC (3 -> 4 -> 2), replaces `from` by `to` (same length) in the
 * header, loads, and checks the message holds `says`. */
static void shape_case(const char *from, const char *to, const char *says)
{
    char path[600], what[400];
    path_in(path, sizeof path, "shape.safetensors");
    swann_net *n = make_net(SMALL_SPEC, MB);
    if (!n) return;
    CHECK_ST(swann_save(n, path), SWANN_OK, "save the small net");
    swann_destroy(n);
    size_t len = 0;
    unsigned char *f = read_file(path, &len);
    char *hit = f ? strstr((char *)f + 8, from) : NULL;
    CHECKF(hit != NULL && strlen(from) == strlen(to), "the header has the shape to change", "%s", from);
    if (!hit) { free(f); return; }
    memcpy(hit, to, strlen(to));
    write_file(path, f, len);
    free(f);
    n = NULL;
    swann_status st = swann_load(path, MB, NULL, 0, &n);
    snprintf(what, sizeof what, "%s instead of %s: SWANN_E_FORMAT, the message says \"%s\"", to, from, says);
    CHECKF(st == SWANN_E_FORMAT && strstr(last_err(), says) != NULL, what, "%s: %s", st_name(st), last_err());
    if (n) swann_destroy(n);
}

static void group_shape_message(void)
{
    shape_case("\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3]",
               "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[5,3]",
               "tensor \"layers.0.weight\" has shape [5, 3], the spec needs [4, 3]");
    shape_case("\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[2]",
               "\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[7]",
               "tensor \"layers.1.bias\" has shape [7], the spec needs [2]");
    shape_case("\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3]",
               "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[ 12]",
               "tensor \"layers.0.weight\" has shape [12], the spec needs [4, 3]");
    shape_case("\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[2]",
               "\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":{} ",
               "tensor \"layers.1.bias\" has shape (not an array), the spec needs [2]");
    shape_case("\"optimizer.step\":{\"dtype\":\"I64\",\"shape\":[]",
               "\"optimizer.step\":{\"dtype\":\"I64\",\"shape\":1 ",
               "tensor \"optimizer.step\" has shape (not an array), the spec needs []");
}

int main(void)
{
    check_init("test_files");
    DIR_ = make_tmpdir("files");
    A = make_net(SMALL_SPEC, MB);
    B = make_net(SMALL_SPEC, MB);
    if (!A || !B) return check_finish();
    train(B, 7, 0, 3, MB, 1, T_ONEHOT);
    CHECK(!same_params(A, B), "the two nets differ");
    RUN_GROUP(group_symlinks);
    RUN_GROUP(group_permissions);
    RUN_GROUP(group_special_files);
    RUN_GROUP(group_long_names);
    RUN_GROUP(group_shape_message);
    /* the groups' files and folders, two levels deep */
    const char *sub[] = {"models", "links", "a-folder"};
    char p[700];
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        path_in(p, sizeof p, sub[i]);
        remove_tree(p);
    }
    remove_tree(DIR_);
    swann_destroy(A);
    swann_destroy(B);
    return check_finish();
}
