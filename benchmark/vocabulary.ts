/**
 * Words the generated text is made of. Picked Zipf-weighted, so the first words are common
 * (a search for them matches many rows) and the last are rare (a selective search).
 */
export const TAGS = [
  'promo', 'launch', 'product', 'brand', 'holiday', 'event', 'giveaway', 'ugc', 'tips', 'news',
  'behind-the-scenes', 'hiring', 'webinar', 'case-study', 'sale', 'contest', 'poll', 'video', 'reel', 'story',
  'partnership', 'sustainability', 'community', 'feature', 'update', 'faq', 'customer', 'review', 'seasonal', 'blog',
  'podcast', 'infographic', 'milestone', 'award', 'charity', 'recipe', 'tutorial', 'quote', 'meme', 'throwback',
] as const;

export const WORDS = [
  'new', 'today', 'great', 'team', 'customers', 'product', 'launch', 'update', 'love', 'thanks',
  'check', 'available', 'free', 'shipping', 'order', 'summer', 'winter', 'discount', 'offer', 'limited',
  'quality', 'service', 'support', 'experience', 'community', 'event', 'join', 'live', 'stream', 'week',
  'coffee', 'design', 'release', 'feature', 'mobile', 'app', 'store', 'city', 'weekend', 'recipe',
  'fitness', 'travel', 'music', 'festival', 'partner', 'collection', 'style', 'organic', 'green', 'energy',
  'delivery', 'refund', 'broken', 'slow', 'amazing', 'terrible', 'awesome', 'issue', 'question', 'help',
  'price', 'deal', 'ticket', 'account', 'login', 'password', 'battery', 'camera', 'screen', 'charger',
  'vegan', 'gluten', 'pizza', 'burger', 'salad', 'smoothie', 'yoga', 'running', 'cycling', 'hiking',
  'sneakers', 'jacket', 'backpack', 'watch', 'headphones', 'speaker', 'laptop', 'tablet', 'keyboard', 'monitor',
  'sunrise', 'sunset', 'ocean', 'mountain', 'forest', 'desert', 'island', 'river', 'glacier', 'volcano',
  'quantum', 'robotics', 'satellite', 'telescope', 'microscope', 'genome', 'vaccine', 'biotech', 'nanotech', 'fusion',
  'aurora', 'zeppelin', 'xylophone', 'quokka', 'narwhal', 'axolotl', 'pangolin', 'okapi', 'tardigrade', 'kakapo',
] as const;

export const AUDIT_ACTIONS = [
  'auth.login', 'post.update', 'post.create', 'auth.logout', 'post.publish', 'token.refresh', 'settings.update',
  'member.invite', 'auth.failed_login', 'account.connect', 'account.disconnect', 'member.remove', 'role.change',
  'export.download', 'api_key.create',
] as const;

export const PLATFORMS = ['twitter', 'facebook', 'instagram', 'linkedin', 'tiktok', 'youtube', 'pinterest', 'threads', 'reddit'] as const;
export const LANGUAGES = ['en', 'es', 'de', 'fr', 'pt', 'ja', 'it', 'nl'] as const;
export const INFLUENCER_CATEGORIES = ['lifestyle', 'tech', 'fitness', 'food', 'travel', 'fashion', 'gaming', 'beauty'] as const;
