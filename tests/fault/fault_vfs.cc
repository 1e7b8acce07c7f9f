#include "fault_vfs.h"

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>

namespace triad::testing {
namespace {

// A file opened through the fault VFS: our header, then the wrapped VFS's file object, which
// lives in the same allocation (SQLite allocates szOsFile bytes per file).
struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_vfs* g_real = nullptr;  // the VFS that was the default before Install()
FaultVfs* g_state = nullptr;

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), buf, amount, offset);
}
int Write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  sqlite3_file* real = Real(f);
  if (g_state->disk_full()) {
    sqlite3_int64 size = 0;
    const int rc = real->pMethods->xFileSize(real, &size);
    if (rc != SQLITE_OK) return rc;
    if (offset + amount > size) {  // needs new blocks: a full disk has none
      g_state->CountFullError();
      return SQLITE_FULL;
    }
  }
  return real->pMethods->xWrite(real, buf, amount, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); }
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, page_size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), offset, amount, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
}

// Version 3 methods: WAL needs the xShm* ones. Files whose real methods are older get no
// wrapper (see Open()), so forwarding never calls a missing method.
const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<FaultFile*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  file->real->pMethods = nullptr;
  const int rc = g_real->xOpen(g_real, name, file->real, flags, out_flags);
  // SQLite calls xClose iff pMethods is set, even when xOpen failed; mirror the real file.
  if (file->real->pMethods == nullptr) {
    f->pMethods = nullptr;
  } else if (file->real->pMethods->iVersion < 3) {
    std::fprintf(stderr, "FaultVfs: the default VFS has io_methods version %d; need 3\n",
                 file->real->pMethods->iVersion);
    std::abort();
  } else {
    f->pMethods = &kMethods;
  }
  return rc;
}

// The rest of the VFS is forwarded with the real VFS as its own first argument, because the unix
// VFS keeps state in its own sqlite3_vfs (pAppData).
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int Sleep(sqlite3_vfs*, int micros) { return g_real->xSleep(g_real, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}
int SetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr p) {
  return g_real->xSetSystemCall(g_real, name, p);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs*, const char* name) {
  return g_real->xGetSystemCall(g_real, name);
}
const char* NextSystemCall(sqlite3_vfs*, const char* name) {
  return g_real->xNextSystemCall(g_real, name);
}

sqlite3_vfs g_vfs;

}  // namespace

FaultVfs& FaultVfs::Install() {
  static FaultVfs* const instance = [] {
    auto* state = new FaultVfs();  // never destroyed: SQLite may use the VFS until exit
    g_real = sqlite3_vfs_find(nullptr);
    if (g_real == nullptr || g_real->iVersion < 3) {
      std::fprintf(stderr, "FaultVfs: no default VFS of version 3\n");
      std::abort();
    }
    g_state = state;
    g_vfs = sqlite3_vfs{
        .iVersion = 3,
        .szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile,
        .mxPathname = g_real->mxPathname,
        .pNext = nullptr,
        .zName = "triad-fault",
        .pAppData = nullptr,
        .xOpen = Open,
        .xDelete = Delete,
        .xAccess = Access,
        .xFullPathname = FullPathname,
        .xDlOpen = DlOpen,
        .xDlError = DlError,
        .xDlSym = DlSym,
        .xDlClose = DlClose,
        .xRandomness = Randomness,
        .xSleep = Sleep,
        .xCurrentTime = CurrentTime,
        .xGetLastError = GetLastError,
        .xCurrentTimeInt64 = CurrentTimeInt64,
        .xSetSystemCall = SetSystemCall,
        .xGetSystemCall = GetSystemCall,
        .xNextSystemCall = NextSystemCall,
    };
    if (sqlite3_vfs_register(&g_vfs, /*makeDflt=*/1) != SQLITE_OK) {
      std::fprintf(stderr, "FaultVfs: sqlite3_vfs_register failed\n");
      std::abort();
    }
    return state;
  }();
  return *instance;
}

}  // namespace triad::testing
