"""zsh: the hook is shell-integrations/envr.zsh; POSIX quotes are valid whatever RC_QUOTES says."""

from envr.shells.posix import PosixShell

SHELL = PosixShell("zsh")
