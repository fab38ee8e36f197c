"""Training of the networks we ship ourselves (the AdaIN decoder). Not imported by the engine."""
