"""The response of a drill driven through the real platform (演练平台驱动).

`database`: the drill's own database (made like `init --mode drill`; any other refused). `transport`: the
platform's public HTTP API over a real socket (`http`) or the same route functions without one
(`inprocess`). `response`: simulated senders and scripted responders acting through that API as
users of their roles, and the feedback that turns the measures the platform recorded into the
simulator's `Measure`s. Nothing here imports a capability's models: the platform is reached only
through its public interfaces (and the kernel's services for users and tokens).
"""
