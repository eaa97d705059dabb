#ifndef CJOBQSYSTEM_H
#define CJOBQSYSTEM_H

// The Linux calls that Swift's Glibc module cannot make: GNU-only declarations (hidden unless
// _GNU_SOURCE), variadic functions (syscall, prctl) and fields inside siginfo_t's unions.

#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/types.h>

/// POSIX_SPAWN_SETSID: the child starts a new session (and so a new process group, pgid == pid).
extern const short jobq_posix_spawn_setsid;

/// posix_spawn_file_actions_addchdir_np: the child changes to `path` before exec.
int jobq_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor >= `from` before exec.
int jobq_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// pipe2(fds, O_CLOEXEC).
int jobq_pipe_cloexec(int fds[2]);

/// pthread_setname_np for the calling thread (at most 15 characters).
void jobq_name_current_thread(const char *name);

/// pidfd_open(2): a descriptor that becomes readable when process `pid` exits; -1 with errno on failure.
int jobq_pidfd_open(pid_t pid);

/// malloc_trim(0): gives the heap's free pages back to the system; 1 if it released any.
int jobq_release_free_memory(void);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this process.
int jobq_set_child_subreaper(void);

/// What waitid(2) reported about one child: `pid` is 0 when no child had changed state.
typedef struct {
    pid_t pid;
    /// CLD_EXITED, CLD_KILLED or CLD_DUMPED.
    int code;
    /// The exit status for CLD_EXITED, otherwise the signal number.
    int status;
} jobq_child_status;

/// waitid(P_PIDFD, pidfd, WEXITED | WNOHANG): 0 on success (see `out->pid`), -1 with errno on failure.
int jobq_wait_pidfd(int pidfd, jobq_child_status *out);

/// waitid(P_PGID, pgid, WEXITED | WNOHANG): reaps one exited child in process group `pgid`.
int jobq_wait_process_group(pid_t pgid, jobq_child_status *out);

/// waitid(P_PID, pid, WEXITED | WNOHANG): reaps child `pid` if it has exited.
int jobq_wait_pid(pid_t pid, jobq_child_status *out);

#endif
