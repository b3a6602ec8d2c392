/* SPDX-License-Identifier: MIT */
/* tockctl's subcommands; main.c dispatches on argv[1]. Each returns the exit code. */
#ifndef TOCKCTL_H
#define TOCKCTL_H

/* `tockctl ke HOST[:PORT] [--ca FILE] [--ntpperf|--json]` — NTS-KE client (ke.c). */
int cmd_ke(int argc, char **argv);

#endif
