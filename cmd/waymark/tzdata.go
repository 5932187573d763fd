package main

// The time zone database is built into the binary. Check-in windows and
// reminders are computed in each person's own zone, and the container image
// is scratch, which has no /usr/share/zoneinfo; the system's database is
// still preferred where there is one (a VM, systemd), so a host that
// updates its tzdata gets new rules without a rebuild. It adds about
// 450 KB. An import rather than -tags timetzdata, so that no build of the
// binary (go run, go install, an IDE) can leave it out.
import _ "time/tzdata"
