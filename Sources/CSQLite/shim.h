#ifndef JOBQ_CSQLITE_SHIM_H
#define JOBQ_CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import.
// These helpers bind copies of caller-owned bytes (the Swift buffers do not outlive the call).

static inline int jobq_sqlite3_bind_text(sqlite3_stmt *statement, int index, const char *text, int length) {
    // An empty Swift string may have no storage; bind "" rather than NULL.
    return sqlite3_bind_text(statement, index, text ? text : "", length, SQLITE_TRANSIENT);
}

static inline int jobq_sqlite3_bind_blob(sqlite3_stmt *statement, int index, const void *bytes, int length) {
    // A zero-length blob must stay a blob, not NULL.
    if (length == 0) return sqlite3_bind_zeroblob(statement, index, 0);
    return sqlite3_bind_blob(statement, index, bytes, length, SQLITE_TRANSIENT);
}

#endif
