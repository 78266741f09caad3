output "projects" {
  description = "Each subsystem's project id, and the sandbox's (teardown checks every one)."
  value       = merge(module.system.projects, { sandbox = module.sandbox.project_id })
}

output "sandbox" {
  description = "The sandbox: its project, the fakes' URLs and the secrets they read."
  value = {
    project_id   = module.sandbox.project_id
    urls         = module.sandbox.urls
    secrets_read = module.sandbox.secrets_read
  }
}

output "endpoints" {
  description = "Public function URLs by subsystem and function (the BFF APIs and webhooks)."
  value       = module.system.endpoints
}

output "settings" {
  description = "The plain settings in force, by subsystem."
  value       = module.system.settings
}

output "lake_buckets" {
  description = "Each subsystem's event lake bucket."
  value       = module.system.lake_buckets
}

output "secrets_to_fill" {
  description = "Secrets that need a value before the functions can start: project => { secret => setting }."
  value       = module.system.secrets_to_fill
}

output "ingress_subscriptions" {
  description = "Cross-project ingress subscriptions, by consumer/function."
  value       = module.system.ingress_subscriptions
}

output "region" {
  description = "Region of the functions and scheduler jobs (teardown looks there for what is left)."
  value       = var.region
}
