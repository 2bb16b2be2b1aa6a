#!/bin/sh
# build-lean-shim.sh OUT DEPFILE SRCROOT WORKDIR VERSION
#
# Builds berth-shim-lean: the shim statically linked against musl
# (musl-gcc, Debian's musl-tools), for containers whose log driver writes a
# local file (json-file, local) or nothing. A dynamically linked glibc shim
# maps libc, ld.so, jansson and zlib around whatever it touches (the kernel
# maps 64 KiB around each page fault): 1.9 MiB of RSS per container, of
# which 1.75 MiB are those libraries. Static glibc is no cure (1.3 MiB: its
# static libc drags in iconv, regex, the dynamic loader and NSS). Static
# musl: 0.45 MiB. See docs/shim-protocol.md.
#
# jansson and zlib are linked from Debian's static archives (built against
# glibc: they call only standard C functions, plus three _FORTIFY_SOURCE
# checks that src/shim/musl_compat.c provides); zlib's lazy forwarders
# (src/lazy/lazy_zlib.c, for the dynamic executables) are left out, they
# would stand in for the archive's functions. libcurl and OpenSSL cannot
# be loaded by a static musl binary (dlopen fails cleanly); the remote log
# drivers that need them run the full shim (berth_shim_spawn chooses).
#
# Called by src/shim/meson.build; writes a depfile so ninja rebuilds it when
# a source or header changes.
set -eu
out=$1 depfile=$2 src=$3 work=$4 version=$5
cc=${MUSL_GCC:-musl-gcc}
host_cc=${HOST_CC:-cc}

mkdir -p "$work/inc" "$work/obj"
# the libraries' headers, and nothing else of /usr/include (glibc's own)
multi=$($host_cc -print-multiarch 2>/dev/null || true)
for h in jansson.h jansson_config.h zlib.h zconf.h archive.h archive_entry.h zstd.h zstd_errors.h lzma.h lzma \
	bzlib.h curl openssl; do
	for d in "/usr/include/$multi" /usr/include; do
		[ -e "$d/$h" ] || continue
		if [ -d "$d/$h" ]; then
			# openssl is split between the multiarch and the common folder
			mkdir -p "$work/inc/$h"
			for f in "$d/$h"/*; do
				[ -e "$work/inc/$h/${f##*/}" ] || ln -s "$f" "$work/inc/$h/${f##*/}"
			done
		elif [ ! -e "$work/inc/$h" ]; then
			ln -s "$d/$h" "$work/inc/$h"
		fi
	done
done

cflags="-std=c17 -O2 -g0 -ffunction-sections -fdata-sections -D_GNU_SOURCE -DBERTH_VERSION=\"$version\"
	-Wall -Wextra -Wno-unused-parameter -I$src/src/lib -I$src/src -I$work/inc"
objs=
deps=
for f in "$src"/src/shim/*.c "$src"/src/lib/common/*.c "$src"/src/lib/logger/*.c "$src"/src/lazy/*.c; do
	rel=${f#"$src"/src/}
	[ "$rel" = lazy/lazy_zlib.c ] && continue
	o=$work/obj/$(echo "$rel" | tr / _).o
	# shellcheck disable=SC2086 # cflags is a list of words
	$cc $cflags -MMD -MF "$o.d" -c "$f" -o "$o"
	objs="$objs $o"
	deps="$deps $o.d"
done
jansson_a=$($host_cc -print-file-name=libjansson.a)
zlib_a=$($host_cc -print-file-name=libz.a)
# shellcheck disable=SC2086 # objs is a list of paths without spaces (the build dir's)
$cc -static -Wl,--gc-sections -Wl,-O1 -s -o "$out.tmp" $objs "$jansson_a" "$zlib_a" -lpthread
mv -f "$out.tmp" "$out"

# one rule: the output depends on every source and header the objects read
{
	printf '%s:' "$out"
	# shellcheck disable=SC2086
	cat $deps | sed -e 's/^[^:]*://' -e 's/\\$//' | tr ' ' '\n' | grep -v '^$' | sort -u | while read -r d; do
		printf ' %s' "$d"
	done
	printf '\n'
} >"$depfile"
