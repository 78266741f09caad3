variable "env" {
  description = "The environment the sandbox serves (labels). Only dev has one: prod calls the real providers."
  type        = string
}

variable "project_id" {
  description = "The sandbox's own project id, e.g. \"acme-fd-sandbox-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.project_id))
    error_message = "A project id is 6-30 lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "create_project" {
  description = "Create the project (true) or deploy into an existing, empty one (false)."
  type        = bool
  default     = true
}

variable "folder_id" {
  description = "Folder to create the project in (\"folders/123\" or \"123\"); null to use org_id."
  type        = string
  default     = null
}

variable "org_id" {
  description = "Organization to create the project in when folder_id is null."
  type        = string
  default     = null
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) the new project is linked to."
  type        = string
  default     = null
}

variable "region" {
  description = "Region of the functions and the artifacts bucket."
  type        = string
}

variable "secrets" {
  description = "Where each fake's key lives in Secret Manager: the platform's own secret of it, read across projects (payment_processor_key, push_provider_key, pos_api_key, pos_webhook_secret => { project, secret })."
  type = object({
    payment_processor_key = object({ project = string, secret = string })
    push_provider_key     = object({ project = string, secret = string })
    pos_api_key           = object({ project = string, secret = string })
    pos_webhook_secret    = object({ project = string, secret = string })
  })
}

variable "pos_callback_prefix" {
  description = "The only URL prefix the point of sale calls back (the platform's POS webhook); null: any."
  type        = string
  default     = null
}

variable "pos_invokers" {
  description = "Who may call the point of sale: a stable name => IAM member (\"serviceAccount:...\"), e.g. the platform's POS gateway. The keys are known at plan time even when the members are not. It is private; the other fakes check their own API keys."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.pos_invokers) : can(regex("^(serviceAccount|user|group):", m))])
    error_message = "pos_invokers are IAM members of one identity or group, never allUsers or allAuthenticatedUsers."
  }
}

variable "pos_auto_answer_s" {
  description = "Seconds after which the point of sale accepts a new order, and then marks it ready."
  type        = number
  default     = 2

  validation {
    condition     = var.pos_auto_answer_s >= 0 && var.pos_auto_answer_s <= 3
    error_message = "pos_auto_answer_s is 0-3: both answers must come back while the submitting request waits (8 s)."
  }
}

variable "source_archive_path" {
  description = "Local path of the fakes' source archive (fakes.zip, built by fooddelivery deploy)."
  type        = string
}

variable "runtime" {
  description = "Cloud Functions Python runtime."
  type        = string
  default     = "python312"
}

variable "labels" {
  description = "Extra labels for every labelled resource."
  type        = map(string)
  default     = {}
}
