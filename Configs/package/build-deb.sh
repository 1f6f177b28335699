#!/usr/bin/env bash
# Builds the Debian package mptunnel_VERSION_ARCH.deb from this checkout, offline, with plain
# dpkg-deb: mpserver and mpclient with the Swift runtime linked in statically (they need no
# toolchain, only libc6, libev4, libssl3 and libisal2), their manual pages and shell completions generated from
# the argument-parser definitions, the systemd units, /etc/mptunnel/mpclient.conf as a conffile.
#
#   Configs/package/build-deb.sh [--lint] [OUTPUT_DIR]      (default OUTPUT_DIR: .build-static/package)
#
# It writes OUTPUT_DIR/mptunnel_VERSION_ARCH.deb, and beside it mpserver.debug and
# mpclient.debug: the debug info stripped from the binaries (gdb finds it through the
# binaries' .gnu_debuglink when the file is in the same folder or /usr/lib/debug/usr/bin).
# The version is the one `mpserver --version` prints (Sources/MPRuntime/Release.swift).
# --lint runs lintian on the result and fails on an error. It reports no error and no warning
# (lintian 2.116, Debian 12), and with --info --pedantic no tag either since frames are sealed
# through Debian's libcrypto (swift-crypto's BoringSSL, built without _FORTIFY_SOURCE, drew
# hardening-no-fortify-functions).
# Needs: swift, dpkg-dev (dpkg-shlibdeps), binutils (objcopy, strip), gzip; lintian for --lint.
# The build goes to .build-static (a scratch path of its own, so that the static flags never
# mix with `swift build -c release`); MPTUNNEL_PACKAGE_SCRATCH overrides it.
set -euo pipefail
cd "$(dirname "$0")/../.."

lint=false
if [ "${1:-}" = "--lint" ]; then
    lint=true
    shift
fi
scratch="${MPTUNNEL_PACKAGE_SCRATCH:-.build-static}"
output="${1:-$scratch/package}"
products="mpserver mpclient"
maintainer="${DEBFULLNAME:-mptunnel maintainers} <${DEBEMAIL:-maintainers@mptunnel.invalid}>"

step() { printf '== %s\n' "$*" >&2; }

step "static release build ($scratch)"
started=$SECONDS
# -z now, -z relro: the dynamic symbols are bound at start and the tables made read-only
# (Debian's hardening flags; lintian's hardening-no-bindnow otherwise).
flags=(-c release --static-swift-stdlib --scratch-path "$scratch" -Xlinker -z -Xlinker now -Xlinker -z -Xlinker relro)
for product in $products; do
    swift build "${flags[@]}" --product "$product"
done
bin="$(swift build "${flags[@]}" --show-bin-path)"
step "built in $((SECONDS - started)) s"

version="$("$bin/mpserver" --version | cut -d' ' -f1)"
arch="$(dpkg --print-architecture)"
case "$version" in
    [0-9]*) ;;
    *) echo "build-deb.sh: mpserver --version printed \`$version', not a version" >&2; exit 1 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
package="$work/root"
mkdir -p "$output" "$package/DEBIAN"
output="$(cd "$output" && pwd)"
install -d "$package/usr/bin" "$package/usr/share/man/man1" "$package/lib/systemd/system" \
    "$package/usr/share/doc/mptunnel" "$package/usr/share/bash-completion/completions" \
    "$package/usr/share/zsh/vendor-completions" "$package/usr/share/fish/vendor_completions.d"

step "binaries: debug info into $output/*.debug, stripped copies into the package"
for product in $products; do
    objcopy --only-keep-debug "$bin/$product" "$output/$product.debug"
    install -m 0755 "$bin/$product" "$package/usr/bin/$product"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$package/usr/bin/$product"
    (cd "$output" && objcopy --add-gnu-debuglink="$product.debug" "$package/usr/bin/$product")
done

step "manual pages (argument-parser's generate-manual) and completions"
# generate-manual is a tool of swift-argument-parser's own package, not a product this package
# can build: build it from the checkout that this build resolved (no network).
parser="$scratch/checkouts/swift-argument-parser"
swift build --package-path "$parser" --scratch-path "$scratch/generate-manual" --product generate-manual \
    >"$work/generate-manual.log" 2>&1 || { cat "$work/generate-manual.log" >&2; exit 1; }
generate_manual="$(swift build --package-path "$parser" --scratch-path "$scratch/generate-manual" \
    --show-bin-path)/generate-manual"
# The date of the last commit, so that the same commit gives the same pages.
date="$(git log -1 --format=%cs 2>/dev/null || date -u +%F)"
for product in $products; do
    "$generate_manual" "$package/usr/bin/$product" --date "$date" --section 1 \
        --authors "$maintainer" --output-directory "$work"
    # Three fixes to generate-manual's page: the synopsis names a `subcommand' (argument-parser's
    # implicit `help'); it shows the config file as optional, which it is only for --status and
    # --genkey; and the discussion's blank lines between paragraphs are not mdoc (groff warns
    # about each): they become paragraph breaks.
    sed -e '/^\.Ar subcommand$/d' -e 's/^\.Op Ar \(config-file\|listen-port\|target-host\|target-port\)$/.Ar \1/' \
        -e 's/^$/.Pp/' "$work/$product.1" |
        gzip -9n >"$package/usr/share/man/man1/$product.1.gz"
    # A completion file is sourced, not run: no #! line.
    "$package/usr/bin/$product" --generate-completion-script bash | sed -e '1{/^#!/d}' \
        >"$package/usr/share/bash-completion/completions/$product"
    "$package/usr/bin/$product" --generate-completion-script zsh >"$package/usr/share/zsh/vendor-completions/_$product"
    "$package/usr/bin/$product" --generate-completion-script fish \
        >"$package/usr/share/fish/vendor_completions.d/$product.fish"
done

step "units, config, documents"
# The units of Configs/ run the binaries from /usr/local/bin (installed by hand); the
# package's run them from /usr/bin.
for unit in mpserver.service mpclient.service mptunnel-bridge@.service; do
    sed -e 's|/usr/local/bin/|/usr/bin/|g' -e 's|Install: see Configs/README.md|Installed by the mptunnel package|' \
        "Configs/$unit" >"$package/lib/systemd/system/$unit"
done
install -D -m 0644 Configs/mpclient.conf "$package/etc/mptunnel/mpclient.conf"
install -m 0644 Configs/package/copyright "$package/usr/share/doc/mptunnel/copyright"
gzip -9n <README.md >"$package/usr/share/doc/mptunnel/README.md.gz"
cat >"$work/changelog" <<EOF
mptunnel ($version) unstable; urgency=medium

  * Release $version, protocol version $("$bin/mpserver" --version | sed -n 's/.*(protocol \([0-9]*\)).*/\1/p').
    The changes are in the project's git history.

 -- $maintainer  $(date -u -R -d "$date 12:00")
EOF
gzip -9n <"$work/changelog" >"$package/usr/share/doc/mptunnel/changelog.gz"

step "control files"
echo /etc/mptunnel/mpclient.conf >"$package/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "Configs/package/$script" "$package/DEBIAN/$script"
done
# dpkg-shlibdeps reads the libraries' shlibs files; it needs a debian/control to run in.
mkdir -p "$work/shlibs/debian"
printf 'Source: mptunnel\n\nPackage: mptunnel\nArchitecture: any\n' >"$work/shlibs/debian/control"
depends="$(cd "$work/shlibs" && dpkg-shlibdeps -O $(printf -- "-e$package/usr/bin/%s " $products) |
    sed -n 's/^shlibs:Depends=//p')"
installed_size="$(du -sk --exclude=DEBIAN "$package" | cut -f1)"
cat >"$package/DEBIAN/control" <<EOF
Package: mptunnel
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Suggests: socat
Section: net
Priority: optional
Description: multipath UDP tunnel: one datagram stream over several paths
 mpclient, on a gateway, sends every datagram of a local application (an
 OpenVPN or WireGuard client) over several paths at once, usually through
 UDP relays on different networks; mpserver, on a server, forwards the first
 copy of each datagram to the target and drops the duplicates. A datagram is
 lost only when it is lost on every path. With a pre-shared key every frame
 is sealed with AES-256-GCM or ChaCha20-Poly1305.
 .
 This package holds both daemons, their systemd units (mpserver.service,
 mpclient.service, and mptunnel-bridge@.service for a socat relay) and an
 example /etc/mptunnel/mpclient.conf.
EOF
(cd "$package" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$package/DEBIAN/md5sums"

deb="$output/mptunnel_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$package" "$deb" >&2
step "$deb: Installed-Size ${installed_size} KiB, $(du -k "$deb" | cut -f1) KiB"
for product in $products; do
    step "$product: $(stat -c %s "$bin/$product") bytes built, $(stat -c %s "$package/usr/bin/$product") stripped"
done
if $lint; then
    step "lintian"
    lintian --fail-on error --info "$deb" >&2
fi
echo "$deb"
