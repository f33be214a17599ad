"""The console's two languages: English text is the message id (gettext style); Chinese is looked up.

The language follows the browser's Accept-Language (zh-* → Chinese, else English), or ``?lang=`` when a
user switches (kept in a cookie). A string with no translation shows in English rather than not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

LANG_COOKIE = "shiren_console_lang"
LANGS = ("zh", "en")

ZH: dict[str, str] = {
    "Operator console": "运营控制台",
    "Sign in": "登录",
    "Sign out": "退出登录",
    "Name": "姓名",
    "User name": "用户名",
    "Password": "密码",
    "Current password": "当前密码",
    "New password": "新密码",
    "Repeat the new password": "再次输入新密码",
    "Set a new password": "设置新密码",
    "Choose your own password before you go on (at least 12 characters).": (
        "继续之前请设置您自己的密码（至少 12 个字符）。"
    ),
    "Save": "保存",
    "Records": "记录",
    "Review queue": "人工审核队列",
    "Statistics": "统计",
    "Audit trail": "审计日志",
    "Scenes": "场景",
    "Access keys": "访问密钥",
    "Users": "用户",
    "Search": "搜索",
    "Clear": "清除",
    "Export CSV": "导出 CSV",
    "BizId / OuterOrderNo": "BizId / OuterOrderNo",
    "CertifyId / VerifyToken": "CertifyId / VerifyToken",
    "Scene": "场景",
    "Any": "全部",
    "VerifyStatus": "认证状态",
    "SubCode": "SubCode",
    "Review": "审核",
    "From": "开始日期",
    "To": "结束日期",
    "UserId": "UserId",
    "Created": "创建时间",
    "Decided": "判定时间",
    "Status": "状态",
    "Family": "产品",
    "ID number": "身份证号",
    "Tenant": "租户",
    "No records match.": "没有匹配的记录。",
    "Next page": "下一页",
    "First page": "第一页",
    "records": "条记录",
    "more than": "超过",
    "Case": "案件",
    "Verdict": "结论",
    "Machine verdict": "机器结论",
    "Held for review": "等待人工审核",
    "Why it is held": "转人工原因",
    "Checks": "检查项",
    "Check": "检查",
    "Result": "结果",
    "Score": "分数",
    "Threshold": "阈值",
    "Detail": "说明",
    "passed": "通过",
    "failed": "未通过",
    "not applicable": "不适用",
    "Liveness": "活体检测",
    "Asked": "要求",
    "Seen": "检测到",
    "Prompted at": "提示时间",
    "Performed at": "动作时间",
    "Flash colours": "炫彩颜色",
    "Images": "图像",
    "Best frame": "最佳帧",
    "Face": "人脸",
    "Whole picture": "全景图",
    "ID card front": "身份证人像面",
    "ID card back": "身份证国徽面",
    "Video": "视频",
    "Registry photo": "登记照片",
    "ID card reading": "身份证识别",
    "Field": "字段",
    "Value": "值",
    "Confidence": "置信度",
    "Authority": "权威数据源",
    "Models": "模型",
    "Timings (ms)": "耗时（毫秒）",
    "Device": "设备",
    "Callbacks": "回调",
    "Send again": "重新发送",
    "Deliveries": "投递记录",
    "Decisions by people": "人工决定",
    "Approve": "通过",
    "Reject": "拒绝",
    "Reason": "原因",
    "Comment": "备注",
    "Decide": "提交决定",
    "Override the verdict": "更改结论",
    "New verdict": "新结论",
    "Override": "更改",
    "Age": "等待时长",
    "Nothing waits for review.": "没有等待审核的案件。",
    "held": "待审核",
    "reviewed": "已人工审核",
    "overridden": "已更改",
    "Open": "打开",
    "This case's personal data was erased.": "该案件的个人数据已删除。",
    "This case's images were erased.": "该案件的图像已删除。",
    "Names and numbers are masked for your role; images are not shown.": (
        "您的角色只能看到打码的姓名和号码，不显示图像。"
    ),
    "Not found": "未找到",
    "Not allowed": "无权访问",
    "Refused": "已拒绝",
    "Back": "返回",
    "Action": "操作",
    "Actor": "操作人",
    "Object": "对象",
    "Address": "来源地址",
    "When": "时间",
    "Skip to content": "跳到正文",
    "Language": "语言",
    "Signed in as": "当前用户",
    "Period": "统计周期",
    "No verification in this period.": "该时段没有认证。",
    "No failure in this period.": "该时段没有未通过的认证。",
    "No decision was timed.": "没有判定耗时数据。",
    "Verifications per day": "每日认证量",
    "Verifications per scene": "各场景认证量",
    "Pass rate per scene": "各场景通过率",
    "Why verifications failed": "未通过原因分布",
    "Decision time": "判定耗时",
    "total": "合计",
    "verifications": "认证数",
    "Pass rate": "通过率",
    "Held now": "当前待审核",
    "Oldest waiting": "最久等待",
    "Median wait": "等待中位数",
    "Decision time p50 / p95": "判定耗时 p50 / p95",
    "held ones left out": "不含待审核",
    "Verifications": "认证总数",
    "not verified": "未认证",
    "the name and ID number do not match": "姓名与身份证号不一致",
    "the name on the ID card could not be read or differs": "身份证姓名无法识别或不一致",
    "the number on the ID card could not be read or differs": "身份证号码无法识别或不一致",
    "the ID card has expired": "身份证已过期",
    "the face does not match the ID card portrait": "人脸与身份证照片不一致",
    "the face does not match the reference photo": "人脸与权威比对照片不一致",
    "the photo is not of an original ID card": "不是身份证原件照片",
    "liveness check failed": "活体检测未通过",
    "the face does not match the retained photo": "人脸与留底照片不一致",
    "the reference photo is missing or unusable": "权威比对照片缺失或不可用",
    "the identity authority is unavailable; try again later": "权威数据源暂不可用，请稍后重试",
    "Show": "显示",
    "Create": "创建",
    "Disable": "停用",
    "Enable": "启用",
    "Enabled": "已启用",
    "Disabled": "已停用",
    "Role": "角色",
    "Shown once: copy it now.": "只显示一次：请立即复制。",
    "Wrong name or password.": "用户名或密码错误。",
    "Your session has ended; sign in again.": "会话已结束，请重新登录。",
    # Scenes, access keys, users, the audit trail (manage_routes.py)
    "(you)": "（您自己）",
    "0: erased at the worker's next pass after the decision.": "0：判定后由后台任务下一轮即删除。",
    "1 to 3; blank: the default": "1 到 3；留空：默认值",
    "1-64 letters, digits, _ . @ or -.": "1-64 个字母、数字或 _ . @ -。",
    "1-64 letters, digits, _ . or -; it cannot change later.": "1-64 个字母、数字或 _ . -；创建后不能更改。",
    "2-64 letters, digits, _ . @ or -.": "2-64 个字母、数字或 _ . @ -。",
    "A console user's name, or cli.": "控制台用户名，或 cli。",
    "A disabled key is refused from then on; it cannot be enabled again. Create a new one instead.": (
        "停用的密钥此后即被拒绝，且不能重新启用；请另建一个新密钥。"
    ),
    "A disabled scene starts no new verification; its records stay.": (
        "停用的场景不再发起新的认证；已有记录保留。"
    ),
    "A one-time password is shown once, on the next page.": "一次性密码将在下一页显示一次。",
    "A verdict whose only failures are borderline is held for a person's review; blank: no review.": (
        "仅有临界失败项的结论将转人工审核；留空：不转人工。"
    ),
    "AccessKey created": "访问密钥已创建",
    "AccessKeyId": "AccessKeyId",
    "AccessKeySecret": "AccessKeySecret",
    "Actions per challenge": "每次挑战的动作数",
    "BizType": "BizType",
    "BizType and scheme are fixed: attempts were made under them. For another scheme, create a new scene.": (
        "BizType 和方案不能更改：已有认证按其进行。如需其他方案，请新建场景。"
    ),
    "Blank: the BizType.": "留空：使用 BizType。",
    "Blank: the installation's default": "留空：使用系统默认值",
    "Callback URL": "回调地址",
    "Callback secret": "回调密钥",
    "Card readings with a confidence under (0-1)": "身份证识别置信度低于（0-1）",
    "Change the role": "更改角色",
    "Changed": "修改时间",
    "Choose the scheme": "请选择方案",
    "Choose the tenant": "请选择租户",
    "Console user created": "控制台用户已创建",
    "Create a console user": "创建控制台用户",
    "Create a scene": "创建场景",
    "Create a tenant": "创建租户",
    "Create an access key": "创建访问密钥",
    "Create the scene": "创建场景",
    "Create the tenant": "创建租户",
    "Create the user": "创建用户",
    "Disable the scene": "停用场景",
    "Display name": "显示名称",
    "Enable the scene": "启用场景",
    "Exactly: a VerifyToken, BizType, AccessKeyId or user name.": (
        "完全匹配：VerifyToken、BizType、AccessKeyId 或用户名。"
    ),
    "Face scores from (0-100)": "人脸分数不低于（0-100）",
    "Give it to the user; their first sign-in sets a password of their own.": (
        "请交给该用户；其首次登录时须设置自己的密码。"
    ),
    "Go to the field": "转到该字段",
    "Images and video (days)": "图像和视频（天）",
    "It signs this scene's callbacks when a verification gives no CallbackSeed.": (
        "认证未提供 CallbackSeed 时，用它为本场景的回调签名。"
    ),
    "Its callback secret is shown once, on the next page.": "其回调密钥将在下一页显示一次。",
    "Its secret is shown once, on the next page.": "其密钥将在下一页显示一次。",
    "Last sign-in": "最近登录",
    "Never longer than the personal data.": "不会长于个人数据的保存期。",
    "No access keys yet.": "还没有访问密钥。",
    "No events match.": "没有匹配的事件。",
    "No scenes yet.": "还没有场景。",
    "None (an operator)": "无（运维人员）",
    "Not saved:": "未保存：",
    "On the calibrated 0-100 scale (80: one false match in a thousand); blank: the default.": (
        "校准后的 0-100 分制（80：千分之一误识率）；留空：默认值。"
    ),
    "One origin a line (https://app.example.com): where the H5 page may send the user back.": (
        "每行一个源（https://app.example.com）：H5 页面可将用户送回的地址。"
    ),
    "One-time password": "一次性密码",
    "Open the scene": "打开场景",
    "Password reset": "密码已重置",
    "Personal data and result (days)": "个人数据和结果（天）",
    "Redirect origins": "跳转源",
    "Reset the password": "重置密码",
    "Retention": "保存期限",
    "Retention (days)": "保存期限（天）",
    "Review band": "人工审核区间",
    "Saved.": "已保存。",
    "Scene created": "场景已创建",
    "SceneId": "SceneId",
    "Scheme": "方案",
    "Settings": "设置",
    "Steps": "步骤",
    "The actions a challenge draws from; none ticked: the default pool": (
        "挑战从中抽取的动作；都不勾选：默认动作集"
    ),
    "The start of it: case. finds every case action.": "按开头匹配：case. 可找到所有案件操作。",
    "Thresholds": "阈值",
    "Untimed prompts": "不限时提示",
    "Weaker: only for cameras that cannot follow prompts, such as a looped test clip.": (
        "安全性较弱：仅用于无法跟随提示的摄像头，例如循环播放的测试视频。"
    ),
    "What the user is asked for (Solution); it cannot change later.": (
        "要求用户提供的内容（Solution）；创建后不能更改。"
    ),
    "Who confirms the name and ID number: none, the imported registry, or an HTTP authority.": (
        "由谁核验姓名和身份证号：不核验（none）、导入的名册（registry）或 HTTP 权威数据源（http）。"
    ),
    "Your server signs its calls with this AccessKeyId and secret.": (
        "您的服务器用此 AccessKeyId 和密钥为调用签名。"
    ),
    "admin: scenes, keys, users, overrides, the audit trail; reviewer: cases and held verdicts; "
    "auditor: statistics, the audit trail, masked records.": (
        "admin：场景、密钥、用户、更改结论、审计日志；reviewer：案件和待审核结论；"
        "auditor：统计、审计日志、打码的记录。"
    ),
    "has not set a password yet": "尚未设置密码",
    "http or https; blank: no callbacks.": "http 或 https；留空：不回调。",
    "operator: every tenant (no tenant).": "operator：所有租户（不属于任何租户）。",
}


def locale_of(request: Request) -> str:
    """``?lang=``, then the cookie, then Accept-Language."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANGS:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def translator(locale: str) -> Callable[[str], str]:
    if locale == "zh":
        return lambda text: ZH.get(text, text)
    return lambda text: text
