#!/usr/bin/env bash
# Builds machine-tui's fast local Docker host image (what `machine-tui build-image` runs; the end-to-end tests boot
# it too): Debian 12 with systemd, openssh-server, sudo, acpid, rsync and docker.io preinstalled (docker not
# started: provisioning starts it, or the engine's seed at the first boot), the cloud kernel booted directly with
# the root disk on NVMe (no initrd), the SSH key and the engine's seed handed in through QEMU's fw_cfg.
#
#   build-image.sh [CACHE_ROOT] [cloud-init]   prints the folder holding vmlinuz and docker.qcow2
#
# With `cloud-init`, the folder also holds cloud.qcow2: the same system with cloud-init instead of the fw_cfg key
# units, which takes its user, key and hostname from a NoCloud seed as real cloud images do.
# The result is cached, keyed by a hash of this recipe; a missing or damaged cache is rebuilt (about 75 s).
# Packages come from the Debian mirror this machine's apt is configured with (or DEBIAN_MIRROR).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${1:-${MACHINE_TUI_IMAGE_CACHE:-/var/cache/machine-tui-test-image}}
variant=${2:-}
key=$(sha256sum "$here/build-image.sh" | cut -c1-16)
out="$cache_root/$key"
want="docker.qcow2"; [ "$variant" = cloud-init ] && want="cloud.qcow2"

if [ -f "$out/SHA256SUMS" ] && grep -q " $want\$" "$out/SHA256SUMS" \
        && (cd "$out" && sha256sum -c --quiet SHA256SUMS 2>/dev/null); then
    echo "$out"
    exit 0
fi

for tool in debootstrap mke2fs qemu-img; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (apt-get install debootstrap e2fsprogs qemu-utils)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "build-image: must run as root (debootstrap)" >&2; exit 1; }

mirror=$( (grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true) | head -1 | tr -d ' ')
mirror=${DEBIAN_MIRROR:-${mirror:-}}
[ -n "$mirror" ] || { echo "build-image: no Debian mirror found in /etc/apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

debs="$cache_root/debs"
mkdir -p "$debs" "$out"  # before the work folder: an output folder that cannot be made leaves nothing behind
work=$(mktemp -d /var/tmp/mt-image.XXXXXX)
rootfs="$work/root"
cleanup() {
    for m in dev/pts dev proc sys; do umount "$rootfs/$m" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

echo "build-image: debootstrap from $mirror" >&2
debootstrap --variant=minbase --cache-dir="$debs" \
    --include=systemd-sysv,openssh-server,ca-certificates,sudo,iproute2,netbase,kmod,udev \
    bookworm "$rootfs" "$mirror" >&2

chroot_run() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
mount --bind /dev "$rootfs/dev"; mount --bind /dev/pts "$rootfs/dev/pts"
mount -t proc proc "$rootfs/proc"; mount -t sysfs sys "$rootfs/sys"
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"; chmod +x "$rootfs/usr/sbin/policy-rc.d"
echo "deb $mirror bookworm main" > "$rootfs/etc/apt/sources.list"
mkdir -p "$rootfs/var/cache/apt/archives"
mount --bind "$debs" "$rootfs/var/cache/apt/archives"
chroot_run apt-get update -qq >&2
chroot_run apt-get install -y -qq --no-install-recommends linux-image-cloud-amd64 acpid docker.io rsync >&2
umount "$rootfs/var/cache/apt/archives"
rm -f "$rootfs/usr/sbin/policy-rc.d"
rm -rf "$rootfs/var/lib/apt/lists/"*

# --- configuration
echo machine > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 machine\n' > "$rootfs/etc/hosts"
echo '/dev/nvme0n1 / ext4 rw,discard 0 1' > "$rootfs/etc/fstab"
mkdir -p "$rootfs/etc/systemd/network"
printf '[Match]\nName=en* eth*\n[Network]\nDHCP=ipv4\n' > "$rootfs/etc/systemd/network/10-wired.network"
chroot_run systemctl enable systemd-networkd >&2
cat > "$rootfs/etc/ssh/sshd_config.d/machine-tui.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
EOF
rm -f "$rootfs"/etc/ssh/ssh_host_*
# the key pair of each VM's host is made at its first boot; the user's key comes in through fw_cfg
cat > "$rootfs/usr/local/sbin/rig-hostkeys" <<'EOF'
#!/bin/sh
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
EOF
cat > "$rootfs/usr/local/sbin/rig-sshkey" <<'EOF'
#!/bin/sh
modprobe qemu_fw_cfg 2>/dev/null
mkdir -p /root/.ssh && chmod 700 /root/.ssh
f=/sys/firmware/qemu_fw_cfg/by_name/opt/rig/ssh_key/raw
if [ -r "$f" ]; then cat "$f" > /root/.ssh/authorized_keys; fi
for w in $(cat /proc/cmdline); do
    case "$w" in rig.sshkey=*) echo "${w#rig.sshkey=}" | base64 -d > /root/.ssh/authorized_keys ;; esac
done
chmod 600 /root/.ssh/authorized_keys 2>/dev/null || true
EOF
# a machine's first boot may bring its engine's seed through fw_cfg (what provisioning would copy: the TLS files,
# the engine's drop-in, the hostname). A generator puts them in place before systemd reads its units, so Docker
# starts at that boot already on TLS, beside SSH, with no reload. Only on a guest never provisioned, once a boot:
# a reload or a reboot keeps what provisioning may have changed since. Enabled by symlinks: `systemctl enable`
# costs 10 s under emulation.
mkdir -p "$rootfs/etc/systemd/system-generators"
cat > "$rootfs/etc/systemd/system-generators/rig-engine" <<'EOF'
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ -e /run/rig-engine-looked ] && exit 0
: > /run/rig-engine-looked
modprobe qemu_fw_cfg 2>/dev/null
d=/sys/firmware/qemu_fw_cfg/by_name/opt/machine
[ -r "$d/engine.conf/raw" ] || exit 0
[ -e /etc/docker/server.pem ] && exit 0  # provisioned already: a reboot inside the guest keeps what it has
name=$(cat "$d/hostname/raw")
hostname "$name" && echo "$name" > /etc/hostname
sed -i "s/^127.0.1.1[[:space:]].*/127.0.1.1 $name/" /etc/hosts
mkdir -p /etc/docker /etc/systemd/system/docker.service.d /etc/systemd/system/sockets.target.wants
cat "$d/ca.pem/raw" > /etc/docker/ca.pem && chmod 644 /etc/docker/ca.pem
cat "$d/server.pem/raw" > /etc/docker/server.pem && chmod 644 /etc/docker/server.pem
(umask 077 && cat "$d/server-key.pem/raw" > /etc/docker/server-key.pem) && chmod 600 /etc/docker/server-key.pem
cat "$d/engine.conf/raw" > /etc/systemd/system/docker.service.d/10-machine.conf
chmod 644 /etc/systemd/system/docker.service.d/10-machine.conf
ln -sf /lib/systemd/system/docker.service /etc/systemd/system/multi-user.target.wants/docker.service
ln -sf /lib/systemd/system/docker.socket /etc/systemd/system/sockets.target.wants/docker.socket
EOF
chmod +x "$rootfs/etc/systemd/system-generators/rig-engine"
chmod +x "$rootfs/usr/local/sbin/rig-hostkeys" "$rootfs/usr/local/sbin/rig-sshkey"
for unit in hostkeys sshkey; do
    cat > "$rootfs/etc/systemd/system/rig-$unit.service" <<EOF
[Unit]
DefaultDependencies=no
After=local-fs.target
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/rig-$unit
[Install]
WantedBy=multi-user.target
EOF
    chroot_run systemctl enable "rig-$unit.service" >&2
done
# ssh must not wait for the network: a full copy of the unit (a drop-in cannot remove After=)
sed -e 's/^After=.*/After=rig-sshkey.service rig-hostkeys.service/' -e '/^ExecStartPre=/d' \
    "$rootfs/lib/systemd/system/ssh.service" > "$rootfs/etc/systemd/system/ssh.service"
printf 'event=button/power.*\naction=/bin/systemctl poweroff\n' > "$rootfs/etc/acpi/events/powerbtn"
passwd_locked=$(chroot_run passwd -l root 2>&1) || true
mkdir -p "$rootfs/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$rootfs/etc/systemd/journald.conf.d/volatile.conf"
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service man-db.timer \
         systemd-timesyncd.service getty-static.service systemd-pstore.service ifupdown-pre.service \
         networking.service systemd-networkd-wait-online.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$u"
done
printf 'blacklist kvm_amd\nblacklist kvm_intel\nblacklist sr_mod\nblacklist ata_piix\n' \
    > "$rootfs/etc/modprobe.d/machine-tui-unused.conf"
# docker is preinstalled but not started: provisioning enables it, as on a fresh host
rm -f "$rootfs"/etc/systemd/system/multi-user.target.wants/{docker,containerd}.service \
      "$rootfs/etc/systemd/system/sockets.target.wants/docker.socket"

for m in dev/pts dev proc sys; do umount "$rootfs/$m"; done
cp "$rootfs"/boot/vmlinuz-* "$work/vmlinuz"
# what the driver needs to write the engine's seed as provisioning would: dockerd and its unit's own ExecStart
printf 'dockerd=/usr/sbin/dockerd\nexecstart=%s\n' \
    "$(grep -m1 '^ExecStart=.' "$rootfs/lib/systemd/system/docker.service" | cut -d= -f2-)" > "$work/engine-seed"
mke2fs -q -t ext4 -L rootfs -d "$rootfs" "$work/docker.raw" 3G
qemu-img convert -f raw -O qcow2 "$work/docker.raw" "$work/docker.qcow2"
rm -f "$work/docker.raw"
files="vmlinuz docker.qcow2 engine-seed"

if [ "$variant" = cloud-init ]; then
    # the cloud variant: like a cloud provider's image, everything about the machine comes from the seed
    mount --bind /dev "$rootfs/dev"; mount --bind /dev/pts "$rootfs/dev/pts"
    mount -t proc proc "$rootfs/proc"; mount -t sysfs sys "$rootfs/sys"
    printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"; chmod +x "$rootfs/usr/sbin/policy-rc.d"
    mount --bind "$debs" "$rootfs/var/cache/apt/archives"
    chroot_run apt-get update -qq >&2
    chroot_run apt-get install -y -qq --no-install-recommends cloud-init >&2
    umount "$rootfs/var/cache/apt/archives"
    rm -f "$rootfs/usr/sbin/policy-rc.d"
    rm -rf "$rootfs/var/lib/apt/lists/"*
    printf 'datasource_list: [NoCloud, None]\nnetwork: {config: disabled}\nssh_genkeytypes: [ed25519]\n' \
        > "$rootfs/etc/cloud/cloud.cfg.d/90-machine-tui.cfg"
    chroot_run systemctl disable rig-hostkeys.service rig-sshkey.service >&2
    rm -f "$rootfs/etc/systemd/system-generators/rig-engine"
    rm -f "$rootfs/etc/systemd/system/ssh.service"
    chroot_run systemctl enable ssh.service >&2
    for m in dev/pts dev proc sys; do umount "$rootfs/$m"; done
    mke2fs -q -t ext4 -L rootfs -d "$rootfs" "$work/cloud.raw" 3G
    qemu-img convert -f raw -O qcow2 "$work/cloud.raw" "$work/cloud.qcow2"
    files="$files cloud.qcow2"
fi
for f in $files; do mv "$work/$f" "$out/"; done
(cd "$out" && sha256sum $files > SHA256SUMS)
echo "$out"
