"""The verbs: each public function is one transaction taking the actor, a command and `now`."""
