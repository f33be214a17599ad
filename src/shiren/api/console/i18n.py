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
