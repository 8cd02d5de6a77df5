"""zsh: POSIX single quotes (valid whatever RC_QUOTES says); the hook is shell-integrations/envr.zsh."""

from envr.shells.posix import PosixRenderer

RENDERER = PosixRenderer()
