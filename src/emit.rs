//! Emit stage: YAML text exactly as kustomize v5.5 prints it.
