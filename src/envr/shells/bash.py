"""bash: the hook is shell-integrations/envr.bash; quoting and generated code are shared with zsh."""

from envr.shells.posix import PosixShell

SHELL = PosixShell("bash")
