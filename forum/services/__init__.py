"""Every write goes through here. Services check policy, validate, mutate and flush;
they never commit (the write boundary, `forum.transaction`, does, once) and never touch
the request. Effects after the commit (mail, search) are queued with `forum.outbox`."""
