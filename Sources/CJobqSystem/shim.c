#define _GNU_SOURCE
#include "CJobqSystem.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

// glibc 2.36 declares P_PIDFD; older headers do not, the kernel value is stable.
#define JOBQ_P_PIDFD ((idtype_t)3)

const short jobq_posix_spawn_setsid = POSIX_SPAWN_SETSID;

int jobq_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int jobq_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int jobq_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

void jobq_name_current_thread(const char *name) {
    pthread_setname_np(pthread_self(), name);
}

int jobq_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int jobq_release_free_memory(void) {
    return malloc_trim(0);
}

int jobq_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

static int jobq_wait(idtype_t type, id_t id, jobq_child_status *out) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    memset(out, 0, sizeof *out);
    if (waitid(type, id, &info, WEXITED | WNOHANG) != 0) {
        return -1;
    }
    out->pid = info.si_pid;
    out->code = info.si_code;
    out->status = info.si_status;
    return 0;
}

int jobq_wait_pidfd(int pidfd, jobq_child_status *out) {
    return jobq_wait(JOBQ_P_PIDFD, (id_t)pidfd, out);
}

int jobq_wait_process_group(pid_t pgid, jobq_child_status *out) {
    return jobq_wait(P_PGID, (id_t)pgid, out);
}

int jobq_wait_pid(pid_t pid, jobq_child_status *out) {
    return jobq_wait(P_PID, (id_t)pid, out);
}
