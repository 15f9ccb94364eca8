#!/usr/bin/env python3
"""scripts/pe.py — reads what the Windows checks need from a PE file (a DLL or
an EXE), with Python's standard library alone: no pefile, no objdump. Used by
scripts/ci-windows.sh.

  pe.py imports FILE...          every import, one `dll!function` a line
                                 (DLL names lower-cased; `dll!#N` by ordinal)
  pe.py exports FILE             the exported names, one a line
  pe.py headers FILE             machine, subsystem and OS versions
  pe.py version FILE             the VERSIONINFO resource, `key=value` lines
  pe.py check-version FILE VER   fails unless the VERSIONINFO resource says
                                 VER (FileVersion, ProductVersion and the
                                 numeric versions) and names the product
  pe.py origins MAP FILE          every import of FILE with the object file that
                                 made the linker pull it in, from a GNU ld map
                                 of that link (`cargo rustc ... -- -C
                                 link-arg=-Wl,-Map=MAP`): where a new import
                                 comes from
  pe.py check-win7 ALLOWLIST FILE...
                                 fails on any import of any FILE that is not
                                 in ALLOWLIST (lines `dll!function  note`;
                                 `#` comments), on functions known to be newer
                                 than Windows 7, and on a file whose header asks
                                 for a Windows newer than 7 (subsystem or OS
                                 version above 6.1); lists allowlist lines that
                                 none of the files imports

Exit status 0 when the check holds, 1 when it does not, 2 on a file that is
not a PE image.
"""

import struct
import sys


class NotPe(Exception):
    pass


class Pe:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:2] != b"MZ":
            raise NotPe(f"{path}: no MZ header")
        (pe_at,) = struct.unpack_from("<I", d, 0x3C)
        if d[pe_at:pe_at + 4] != b"PE\0\0":
            raise NotPe(f"{path}: no PE signature")
        coff = pe_at + 4
        self.machine, nsections, _, _, _, opt_size, self.characteristics = struct.unpack_from(
            "<HHIIIHH", d, coff)
        opt = coff + 20
        (magic,) = struct.unpack_from("<H", d, opt)
        if magic == 0x10B:
            self.pe32plus = False
            dirs_at = opt + 96
        elif magic == 0x20B:
            self.pe32plus = True
            dirs_at = opt + 112
        else:
            raise NotPe(f"{path}: unknown optional header magic {magic:#x}")
        (self.os_major, self.os_minor, _, _, self.subsys_major,
         self.subsys_minor) = struct.unpack_from("<HHHHHH", d, opt + 40)
        (self.subsystem,) = struct.unpack_from("<H", d, opt + 68)
        (ndirs,) = struct.unpack_from("<I", d, dirs_at - 4)
        self.dirs = [struct.unpack_from("<II", d, dirs_at + 8 * i) for i in range(ndirs)]
        self.sections = []
        sec = opt + opt_size
        for i in range(nsections):
            name, vsize, va, rsize, raw = struct.unpack_from("<8sIIII", d, sec + 40 * i)
            self.sections.append((name.rstrip(b"\0").decode("ascii", "replace"), va,
                                  max(vsize, rsize), raw, rsize))

    def off(self, rva):
        for _, va, size, raw, rsize in self.sections:
            if va <= rva < va + size:
                if rva - va >= rsize:
                    raise NotPe(f"RVA {rva:#x} is in no file data")
                return raw + rva - va
        raise NotPe(f"RVA {rva:#x} is in no section")

    def cstr(self, rva):
        at = self.off(rva)
        return self.data[at:self.data.index(b"\0", at)].decode("ascii")

    def directory(self, index):
        return self.dirs[index] if index < len(self.dirs) else (0, 0)

    def _thunks(self, rva):
        size, fmt, flag = (8, "<Q", 1 << 63) if self.pe32plus else (4, "<I", 1 << 31)
        while True:
            (v,) = struct.unpack_from(fmt, self.data, self.off(rva))
            if v == 0:
                return
            yield f"#{v & 0xFFFF}" if v & flag else self.cstr((v & 0x7FFFFFFF) + 2)
            rva += size

    def imports(self):
        out = []
        rva, size = self.directory(1)
        while rva and size:
            lookup, _, _, name, first = struct.unpack_from("<IIIII", self.data, self.off(rva))
            if name == 0:
                break
            dll = self.cstr(name).lower()
            out += [f"{dll}!{fn}" for fn in self._thunks(lookup or first)]
            rva += 20
        # Delay-load imports are imports too (absent today).
        rva, size = self.directory(13)
        while rva and size:
            _, name, _, _, names, _, _, _ = struct.unpack_from("<8I", self.data, self.off(rva))
            if name == 0:
                break
            dll = self.cstr(name).lower()
            out += [f"{dll}!{fn}" for fn in self._thunks(names)]
            rva += 32
        return out

    def exports(self):
        rva, size = self.directory(0)
        if not rva:
            return []
        (_, _, _, _, _, _, _, nnames, _, names, _) = struct.unpack_from(
            "<IIHHIIIIIII", self.data, self.off(rva))
        at = self.off(names)
        return [self.cstr(struct.unpack_from("<I", self.data, at + 4 * i)[0])
                for i in range(nnames)]

    def resource(self, type_id):
        """The data of the first resource of `type_id` (any name, any language)."""
        base, size = self.directory(2)
        if not base:
            return None

        def entries(rva):
            at = self.off(rva)
            _, _, _, _, named, ids = struct.unpack_from("<IIHHHH", self.data, at)
            for i in range(named + ids):
                ident, target = struct.unpack_from("<II", self.data, at + 16 + 8 * i)
                yield ident, target

        def first_leaf(target):
            while target & 0x80000000:
                target = next(entries(base + (target & 0x7FFFFFFF)))[1]
            data_rva, data_size, _, _ = struct.unpack_from("<IIII", self.data,
                                                           self.off(base + target))
            at = self.off(data_rva)
            return self.data[at:at + data_size]

        for ident, target in entries(base):
            if not ident & 0x80000000 and ident == type_id:
                return first_leaf(target)
        return None


MACHINES = {0x14C: "i386", 0x8664: "x86-64", 0xAA64: "arm64"}


def read_version_info(blob):
    """Parses VS_VERSIONINFO: returns (fixed numbers, {key: value})."""

    def node(at):
        length, value_len, kind = struct.unpack_from("<HHH", blob, at)
        end = blob.index(b"\0\0", at + 6)
        while (end - at - 6) % 2:  # UTF-16: the terminator starts on an even byte
            end = blob.index(b"\0\0", end + 1)
        key = blob[at + 6:end].decode("utf-16-le")
        value_at = (end + 2 + 3) & ~3
        return length, value_len, kind, key, value_at

    length, value_len, _, key, value_at = node(0)
    if key != "VS_VERSION_INFO":
        raise NotPe(f"version resource starts with '{key}'")
    fixed = {}
    if value_len:
        sig, _, fv_ms, fv_ls, pv_ms, pv_ls = struct.unpack_from("<IIIIII", blob, value_at)
        if sig != 0xFEEF04BD:
            raise NotPe("VS_FIXEDFILEINFO signature is wrong")
        fixed["FileVersion#"] = "%d.%d.%d.%d" % (fv_ms >> 16, fv_ms & 0xFFFF, fv_ls >> 16,
                                                 fv_ls & 0xFFFF)
        fixed["ProductVersion#"] = "%d.%d.%d.%d" % (pv_ms >> 16, pv_ms & 0xFFFF, pv_ls >> 16,
                                                    pv_ls & 0xFFFF)
    strings = {}

    def walk(at, end, depth):
        while at < end:
            length, value_len, kind, key, value_at = node(at)
            if length == 0:
                break
            if depth == 2:  # StringFileInfo -> StringTable -> String
                raw = blob[value_at:value_at + 2 * value_len] if kind == 1 else b""
                strings[key] = raw.decode("utf-16-le").rstrip("\0")
            elif key == "StringFileInfo" or depth == 1:
                walk(value_at, at + length, depth + 1)
            at = (at + length + 3) & ~3

    walk((value_at + value_len + 3) & ~3, length, 0)
    return fixed, strings


def cmd_version(path):
    blob = Pe(path).resource(16)  # RT_VERSION
    if blob is None:
        print(f"{path}: no VERSIONINFO resource")
        return 1
    fixed, strings = read_version_info(blob)
    for k, v in list(fixed.items()) + list(strings.items()):
        print(f"{k}={v}")
    return 0


def cmd_check_version(path, version):
    blob = Pe(path).resource(16)
    if blob is None:
        print(f"FAIL {path}: no VERSIONINFO resource")
        return 1
    fixed, strings = read_version_info(blob)
    numeric = ".".join((version.split("-")[0].split("+")[0].split(".") + ["0"] * 4)[:4])
    want = {
        "FileVersion": version,
        "ProductVersion": version,
        "FileVersion#": numeric,
        "ProductVersion#": numeric,
        "ProductName": "ystpay",
        "OriginalFilename": "ystpay.dll",
    }
    got = dict(fixed, **strings)
    bad = 0
    for k, v in want.items():
        if got.get(k) != v:
            print(f"FAIL {path}: {k} is {got.get(k)!r}, expected {v!r}")
            bad = 1
    for k in ("FileDescription", "LegalCopyright"):
        if not got.get(k):
            print(f"FAIL {path}: {k} is missing or empty")
            bad = 1
    if not bad:
        print(f"{path}: VERSIONINFO FileVersion={got['FileVersion']} "
              f"ProductVersion={got['ProductVersion']} ({numeric}) "
              f"ProductName={got['ProductName']} FileDescription={got['FileDescription']!r} "
              f"OriginalFilename={got['OriginalFilename']} LegalCopyright={got['LegalCopyright']!r}")
    return bad


def origin_name(obj):
    """A short name for the object file that referenced an import."""
    name = obj.rsplit("/", 1)[-1]
    if name.endswith(".rcgu.o") and "compiler_builtins" not in name:
        return "Rust (std and crates, one object after LTO)"
    if "sqlite3.o" in name:
        return "SQLite (libsqlite3-sys)"
    if "libring" in obj:
        return "ring's C code"
    if name.endswith("-raw-dylib"):
        return name[:-len("-raw-dylib")] + " (raw-dylib)"
    if name.startswith("libgcc"):
        return "libgcc unwinder: " + name
    return "MinGW runtime: " + name


def cmd_origins(map_path, path):
    import re
    text = open(map_path, encoding="utf-8", errors="replace").read()
    text = text.split("\nDiscarded input sections", 1)[0].split("\nAllocating common", 1)[0]
    lines = text.splitlines()[1:]
    refs = {}  # symbol as the linker saw it -> referencing object
    member = None
    for line in lines:
        if line and not line[0].isspace():
            member = line.strip()
            rest = ""
        else:
            rest = line.strip()
        if member is None:
            continue
        m = re.match(r"(.*\S)\s+\(([^()]+)\)$", rest or member)
        if m and (rest or " (" in member):
            obj, sym = m.groups()
            if not rest:
                obj = obj.split(None, 1)[-1]
            sym = re.sub(r"@\d+$", "", sym)
            raw_dylib = re.search(r"/lib([a-z0-9_]+)-[0-9a-f]+\.rlib\([^)]*\.dll", member)
            if raw_dylib:  # a crate's own import library (#[link(kind = "raw-dylib")])
                obj = f"/{raw_dylib.group(1)}-raw-dylib"
            refs.setdefault(sym, obj)
    for imp in sorted(set(Pe(path).imports())):
        fn = imp.split("!", 1)[1]
        obj = None
        # 32-bit MinGW names msvcrt's localtime _localtime32 in its headers.
        alias = {"localtime": "_localtime32"}.get(fn, fn)
        for cand in (f"__imp_{fn}", f"__imp__{fn}", f"_imp_{fn}", f"_imp__{fn}", f"_{fn}", fn,
                     f"_imp__{alias}", f"__imp_{alias}"):
            if cand in refs:
                obj = refs[cand]
                break
        print(f"{imp}\t{origin_name(obj) if obj else '?'}")
    return 0


# Imports that Windows 7 SP1 lacks, met in Rust and C toolchains' output:
# refused even when someone adds them to the allowlist. The first five are
# what Rust's *-pc-windows-gnu standard library imports (issue 12).
NOT_IN_WINDOWS_7 = {
    "kernel32.dll!GetSystemTimePreciseAsFileTime",  # Windows 8
    "api-ms-win-core-synch-l1-2-0.dll!WaitOnAddress",  # Windows 8
    "api-ms-win-core-synch-l1-2-0.dll!WakeByAddressSingle",
    "api-ms-win-core-synch-l1-2-0.dll!WakeByAddressAll",
    "bcryptprimitives.dll!ProcessPrng",  # Windows 10
    "kernel32.dll!CreateFile2",  # Windows 8
    "kernel32.dll!CopyFile2",  # Windows 8
    "kernel32.dll!GetCurrentThreadStackLimits",  # Windows 8
    "kernel32.dll!GetOverlappedResultEx",  # Windows 8
    "kernel32.dll!SetThreadDescription",  # Windows 10 1607
    "kernel32.dll!GetSystemCpuSetInformation",  # Windows 10
}


def too_new(imp):
    """Why `imp` cannot load on Windows 7 SP1, or None."""
    if imp in NOT_IN_WINDOWS_7:
        return "newer than Windows 7"
    fn = imp.split("!", 1)[1]
    if any(i.endswith("!" + fn) for i in NOT_IN_WINDOWS_7):
        return "newer than Windows 7 (from another DLL)"
    dll = imp.split("!", 1)[0]
    # API sets: Windows 7 resolves only a few, the synch-l1-2-0 of
    # WaitOnAddress not among them; none is needed by a MinGW build.
    if dll.startswith(("api-ms-win-", "ext-ms-win-")):
        return "an API-set DLL (most are newer than Windows 7)"
    if dll in ("bcryptprimitives.dll", "ucrtbase.dll") or dll.startswith("vcruntime"):
        return f"{dll} is not on a plain Windows 7 SP1"
    return None


def cmd_check_win7(allowlist, paths):
    allowed = {}
    with open(allowlist, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            entry = line.split()[0]
            if "!" not in entry:
                print(f"{allowlist}:{n}: not dll!function: {entry}")
                return 1
            dll, fn = entry.split("!", 1)
            allowed[f"{dll.lower()}!{fn}"] = n
    bad = 0
    seen = set()
    for path in paths:
        pe = Pe(path)
        for what, major, minor in (("subsystem", pe.subsys_major, pe.subsys_minor),
                                   ("OS", pe.os_major, pe.os_minor)):
            if (major, minor) > (6, 1):
                print(f"  NOT WINDOWS 7: {path} asks for {what} version {major}.{minor}")
                bad = 1
        imports = sorted(set(pe.imports()))
        seen.update(imports)
        for i in imports:
            why = too_new(i)
            if why:
                print(f"  NOT WINDOWS 7: {path} imports {i}: {why}")
                bad = 1
        extra = [i for i in imports if i not in allowed]
        dlls = len({i.split("!")[0] for i in imports})
        print(f"{path}: {len(imports)} imports from {dlls} DLLs, "
              f"{len(extra)} not in {allowlist}")
        for i in extra:
            print(f"  NOT ALLOWED: {i}")
            bad = 1
    # A line no DLL imports cannot stop a DLL from loading: it is reported,
    # not failed, so that branches merged in either order pass (an import one
    # branch adds is listed before the other's code needs it).
    stale = sorted(set(allowed) - seen)
    for i in stale:
        print(f"  note: {i} ({allowlist}:{allowed[i]}) is imported by none of the files")
    return bad


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "imports":
            for p in args:
                for i in Pe(p).imports():
                    print(i)
            return 0
        if cmd == "exports":
            for e in Pe(args[0]).exports():
                print(e)
            return 0
        if cmd == "headers":
            pe = Pe(args[0])
            print(f"machine={MACHINES.get(pe.machine, hex(pe.machine))} "
                  f"dll={int(bool(pe.characteristics & 0x2000))} "
                  f"os={pe.os_major}.{pe.os_minor} subsystem={pe.subsystem} "
                  f"subsystem_version={pe.subsys_major}.{pe.subsys_minor}")
            return 0
        if cmd == "version":
            return cmd_version(args[0])
        if cmd == "check-version" and len(args) == 2:
            return cmd_check_version(args[0], args[1])
        if cmd == "origins" and len(args) == 2:
            return cmd_origins(args[0], args[1])
        if cmd == "check-win7" and len(args) >= 2:
            return cmd_check_win7(args[0], args[1:])
    except (NotPe, OSError, struct.error, ValueError, IndexError, StopIteration) as e:
        print(f"not a readable PE file: {e}")
        return 2
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
