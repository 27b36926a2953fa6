"""The inbox: what residents write to their association (「自治会へ」), its officers' answers and
each thread's status; the LINE pushes about them go once each, with their own retry keys."""
