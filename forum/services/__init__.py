"""Every write goes through here. Services check policy, validate, mutate and flush;
they never commit (the handler does, once) and never touch the request."""
