"""The ARM simulator: a stateful fake of Azure Resource Manager behind the real SDK clients."""
