/*
 * TEST-ONLY stand-in for bcryptprimitives.dll, which Rust's standard
 * library imports on Windows (ProcessPrng) but Wine 8 does not provide.
 * Built by scripts/ci-ffi.sh next to the test programs it runs under Wine;
 * never shipped. Real Windows (10 and later) has the genuine DLL.
 */
#include <windows.h>
#include <ntsecapi.h> /* RtlGenRandom (advapi32 SystemFunction036) */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
