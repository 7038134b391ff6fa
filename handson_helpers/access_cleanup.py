"""後始末 of 3.1, 40 and 45: the kit's inline policies, its access keys and the key file
(cleanup.plan_cleanup and cleanup.run_cleanup call these, in AWS's order)."""

from __future__ import annotations

from dataclasses import dataclass

from .access_key import ACCESS_KEY_TAG, kit_key_ids, read_key_file
from .credentials import mask
from .mfa_policy import TERMINAL_VARS
from .safefs import remove_private
from .settings import KIT_POLICY_NAME, KIT_POLICY_NAMES, expand
from .shell import PLAIN, continued, quote, ref
from .target import Context
from .texts import cleanup as texts
from .users import get_user, list_keys, user_policies


@dataclass(frozen=True)
class AccessPlan:
    user_name: str
    key_file: str
    policy_names: tuple[str, ...]  # the kit's inline policy names (40's, 45's)
    policies: tuple[str, ...]  # those of them the user has
    keys: tuple[str, ...]  # the kit's access keys
    delete_file: bool
    foreign: tuple[str, ...]  # what else is attached to the user (not the kit's): DeleteUser would conflict

    @property
    def delete_policy(self) -> bool:
        return bool(self.policies)

    @property
    def empty(self) -> bool:
        return not (self.delete_policy or self.keys or self.delete_file)


def plan_access_cleanup(ctx: Context, user_name: str, key_file: str, policy_name: str = KIT_POLICY_NAME) -> AccessPlan:
    """What of 3.1, 40 and 45 the kit would delete, read from IAM and the disk."""
    user = get_user(ctx, user_name)
    policies = user_policies(ctx, user_name) if user else []
    keys = [k["AccessKeyId"] for k in list_keys(ctx, user_name)] if user else []
    mine = kit_key_ids(ctx, user_name, key_file) if user else set()
    path = expand(key_file)
    names = (policy_name, *(n for n in KIT_POLICY_NAMES if n != policy_name))
    foreign = [texts.FOREIGN_POLICY.format(policy=p) for p in policies if p not in names]
    foreign += [texts.FOREIGN_KEY.format(key=mask(k)) for k in keys if k not in mine]
    return AccessPlan(
        user_name,
        key_file,
        names,
        tuple(n for n in names if n in policies),
        tuple(k for k in keys if k in mine),
        read_key_file(path) is not None,
        tuple(foreign),
    )


def access_cleanup_commands(plan: AccessPlan) -> list[str]:
    user = ref("IAM_USER_NAME", plan.user_name)
    steps = []
    if not plan.empty:
        steps.append("unset " + " ".join(TERMINAL_VARS))
    for policy in plan.policies:
        # 40's policy is the notebook's POLICY_NAME; 45's has no variable in 後始末
        if policy == plan.policy_names[0]:
            name = ref("POLICY_NAME", policy)
        else:
            name = policy if PLAIN.fullmatch(policy) else quote(policy)
        steps.append(continued("aws iam delete-user-policy", f"  --user-name {user}", f"  --policy-name {name}"))
    if plan.keys:
        steps.append(
            continued(
                "ACCESS_KEY_ID=$(",
                "  aws iam list-user-tags",
                f"    --user-name {user}",
                f"    --query \"Tags[?Key == '{ACCESS_KEY_TAG}'].Value\"",
                "    --output text",
                ")",
            )
            + " \\\n  && echo ${ACCESS_KEY_ID}"
        )
        steps.append(
            continued("aws iam delete-access-key", f"  --user-name {user}", "  --access-key-id ${ACCESS_KEY_ID}")
        )
    if plan.delete_file:
        steps.append(f"rm {ref('FILE_ACCESS_KEY', str(expand(plan.key_file)))}")
    return steps


def access_cleanup_rows(plan: AccessPlan | None, whole: AccessPlan | None, word) -> list[list[str]]:
    """Rows of the 後始末 table for these steps (``word(planned, needed, absent)`` from cleanup.py)."""
    planned = plan or AccessPlan("", "", (KIT_POLICY_NAME,), (), (), False, ())
    whole = whole or planned
    keys = ", ".join(mask(k) for k in whole.keys) or texts.NO_KIT_KEYS
    return [
        ["1", texts.ROW_UNSET, "SESSION_* / USER_*", _unset_word(planned, whole)],
        [
            "2",
            texts.ROW_POLICY,
            ", ".join(whole.policies or whole.policy_names[:1]),
            word(planned.delete_policy, whole.delete_policy, texts.ABSENT),
        ],
        ["3", texts.ROW_KEYS, keys, word(bool(planned.keys), bool(whole.keys), texts.ABSENT)],
        ["4", texts.ROW_KEY_FILE, whole.key_file, word(planned.delete_file, whole.delete_file, texts.ABSENT)],
    ]


def _unset_word(plan: AccessPlan, whole: AccessPlan) -> str:
    if not plan.empty:
        return texts.UNSET_RUN
    return texts.KEPT if not whole.empty else texts.UNSET_NOT_NEEDED


def run_access_cleanup(ctx: Context, plan: AccessPlan, call) -> None:
    """Delete in AWS's order: policies, keys, key file (``call`` from cleanup.py ignores NoSuchEntity)."""
    steps = iter(access_cleanup_commands(plan))
    if plan.empty:
        return
    ctx.report.command(next(steps), "")
    for policy in plan.policies:
        ctx.require_write("iam:DeleteUserPolicy")
        call(ctx, "iam:DeleteUserPolicy", ctx.iam.delete_user_policy, UserName=plan.user_name, PolicyName=policy)
        ctx.report.command(next(steps), "")
    if plan.keys:
        ctx.require_write("iam:DeleteAccessKey")
        ctx.report.command(next(steps), " ".join(mask(k) for k in plan.keys))
        for key_id in plan.keys:
            call(ctx, "iam:DeleteAccessKey", ctx.iam.delete_access_key, UserName=plan.user_name, AccessKeyId=key_id)
        ctx.report.command(next(steps), "")
    if plan.delete_file:
        remove_private(expand(plan.key_file))
        ctx.report.command(next(steps), "")
